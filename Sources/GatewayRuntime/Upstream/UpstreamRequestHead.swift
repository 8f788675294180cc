import NIOCore
import NIOHTTP1

/// A request head as it goes to HighLevel, already in HTTP/1.1 bytes (the request line, a line per
/// header, the blank line), with what the connection must know of it: the method (the answer to a
/// `HEAD` has no body) and how the body is framed. Written once, straight from the caller's parsed
/// headers into one buffer: building NIO's `HTTPHeaders` for it and encoding them again cost about
/// 20,000 instructions a request, a third of what forwarding a request costs the gateway.
package struct UpstreamRequestHead: Sendable, Equatable {
    /// How the request's body is delimited (RFC 9112 §6).
    package enum Framing: Sendable, Equatable {
        /// No body and no header saying so (a `GET` or `DELETE` without one).
        case none
        /// `Content-Length`.
        case length(Int)
        /// `Transfer-Encoding: chunked`: the body's length is not known when the head leaves.
        case chunked
    }

    package let method: HTTPMethod
    package let framing: Framing
    package let bytes: ByteBuffer

    /// Writes a head field by field; `finish` adds the framing header and the blank line.
    ///
    /// Names and values are written as given: the caller's come from NIO's parser, which refuses
    /// CR, LF and NUL in them, and the gateway checks what it adds itself (`HeaderValue.isPlain`).
    /// Bytes go into an array the writer owns, not into a `ByteBuffer`, whose every write checks
    /// exclusive access to its storage at run time.
    package struct Writer {
        private let method: HTTPMethod
        private var bytes: [UInt8] = []

        /// The request line for `path` (with `query` when there is one) under the upstream's `prefix`.
        package init(method: HTTPMethod, prefix: String = "", path: String, query: String? = nil) {
            self.method = method
            bytes.reserveCapacity(1_024)
            append(method.rawValue)
            bytes.append(UInt8(ascii: " "))
            append(prefix)
            append(path)
            if let query {
                bytes.append(UInt8(ascii: "?"))
                append(query)
            }
            append(" HTTP/1.1\r\n")
        }

        package mutating func add(name: String, value: String) {
            append(name)
            append(": ")
            append(value)
            append("\r\n")
        }

        /// `Authorization: Bearer <token>`.
        package mutating func addAuthorization(bearer token: String) {
            append("Authorization: Bearer ")
            append(token)
            append("\r\n")
        }

        package consuming func finish(framing: Framing) -> UpstreamRequestHead {
            switch framing {
            case .none: break
            case .length(let length): add(name: "Content-Length", value: String(length))
            case .chunked: add(name: "Transfer-Encoding", value: "chunked")
            }
            append("\r\n")
            return UpstreamRequestHead(method: method, framing: framing, bytes: ByteBuffer(bytes: bytes))
        }

        private mutating func append(_ text: String) {
            bytes.append(contentsOf: text.utf8)
        }
    }
}
