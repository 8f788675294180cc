import NIOCore
import NIOHTTP1

/// An answer's part on its way to a caller, below Hummingbird: the head, then the body.
package typealias DownstreamResponsePart = HTTPPart<DownstreamResponseHead, IOData>

/// An answer's head on its way to a caller: in NIO's types (Hummingbird's answers, the listener
/// guards' refusals), encoded by NIO's encoder; or already written as bytes (HighLevel's answers
/// on the proxy's fast path), which only need the blank line.
package enum DownstreamResponseHead: Sendable, Equatable {
    case typed(HTTPResponseHead)
    case written(WrittenResponseHead)
}

/// A response head written as bytes (`Writer`): the status line and the header lines, with how its
/// body is framed. `closesConnection` adds `Connection: close` as it leaves (`ConnectionGuard`
/// sets it on a connection's last answer).
package struct WrittenResponseHead: Sendable, Equatable {
    package let framing: BodyFraming
    /// The head's bytes, ending with its blank line.
    package let bytes: ByteBuffer
    package var closesConnection = false

    /// Writes a head field by field; `finish` adds the framing header and the blank line.
    package struct Writer {
        var lines = HeaderLines()

        package init(status: HTTPResponseStatus) {
            lines.append("HTTP/1.1 ")
            lines.append(String(status.code))
            lines.append(" ")
            lines.append(status.reasonPhrase)
            lines.append("\r\n")
        }

        package mutating func add(name: String, value: String) {
            lines.add(name: name, value: value)
        }

        package consuming func finish(framing: BodyFraming) -> WrittenResponseHead {
            WrittenResponseHead(framing: framing, bytes: lines.finish(framing: framing))
        }
    }

    /// The bytes as they leave: with `Connection: close` before the blank line when asked.
    var wire: ByteBuffer {
        guard closesConnection else { return bytes }
        var closing = bytes.getSlice(at: bytes.readerIndex, length: bytes.readableBytes - 2) ?? bytes
        closing.writeStaticString("Connection: close\r\n\r\n")
        return closing
    }
}
