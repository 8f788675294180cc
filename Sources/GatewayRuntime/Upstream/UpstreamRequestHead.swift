import NIOCore
import NIOHTTP1

/// A request head as it goes to HighLevel, already in HTTP/1.1 bytes (the request line, a line per
/// header, the blank line), with what the connection must know of it: the method (the answer to a
/// `HEAD` has no body) and how the body is framed. Written once, straight from the caller's parsed
/// headers into one buffer (`HeaderLines`).
package struct UpstreamRequestHead: Sendable, Equatable {
    package let method: HTTPMethod
    package let framing: BodyFraming
    package let bytes: ByteBuffer

    /// Writes a head field by field; `finish` adds the framing header and the blank line.
    package struct Writer {
        private let method: HTTPMethod
        var lines = HeaderLines()

        /// The request line for `path` (with `query` when there is one) under the upstream's `prefix`.
        package init(method: HTTPMethod, prefix: String = "", path: String, query: String? = nil) {
            self.method = method
            lines.append(method.rawValue)
            lines.append(literal: " ")
            lines.append(prefix)
            lines.append(path)
            if let query {
                lines.append(literal: "?")
                lines.append(query)
            }
            lines.append(literal: " HTTP/1.1\r\n")
        }

        package mutating func add(name: String, value: String) {
            lines.add(name: name, value: value)
        }

        /// `Authorization: Bearer <token>`.
        package mutating func addAuthorization(bearer token: String) {
            lines.append(literal: "Authorization: Bearer ")
            lines.append(token)
            lines.append(literal: "\r\n")
        }

        package consuming func finish(framing: BodyFraming) -> UpstreamRequestHead {
            UpstreamRequestHead(method: method, framing: framing, bytes: lines.finish(framing: framing))
        }
    }
}
