import NIOCore
import NIOHTTP1

/// An HTTP/1.1 head being written as bytes: its start line, then a line per header, then the
/// framing header and the blank line (`finish`). The request heads the gateway sends HighLevel and
/// the answers the proxy's fast path writes are built this way, field by field from headers NIO
/// already parsed: building NIO's `HTTPHeaders` for them and encoding those again cost a tenth of
/// what forwarding a request costs the gateway, on each side.
///
/// Names and values are written as given: the caller's and HighLevel's come from NIO's parser,
/// which refuses CR, LF and NUL in them, and the gateway checks what it adds itself
/// (`HeaderValue.isPlain`).
/// Bytes are copied from each string's contiguous UTF-8 into an array this value owns: appending a
/// string's `utf8` view instead cost twice as much, and a `ByteBuffer` checks exclusive access to
/// its storage at run time on every write (callgrind, issue 29).
package struct HeaderLines {
    private var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(1_024)
    }

    /// An answer's head, from its status line on.
    package init(status: HTTPResponseStatus) {
        self.init()
        append(literal: "HTTP/1.1 ")
        append(String(status.code))
        append(literal: " ")
        append(status.reasonPhrase)
        append(literal: "\r\n")
    }

    /// An answer's head as NIO holds it, every header as it is (their framing included).
    package init(_ head: HTTPResponseHead) {
        self.init(status: head.status)
        for (name, value) in head.headers { add(name: name, value: value) }
    }

    package mutating func add(name: String, value: String) {
        append(name)
        append(literal: ": ")
        append(value)
        append(literal: "\r\n")
    }

    /// A native string's bytes are read where they are; only a bridged one is copied first (a copy
    /// retains and releases the string, a third of the reference counting a head cost).
    mutating func append(_ text: String) {
        let appended: Void? = text.utf8.withContiguousStorageIfAvailable { bytes.append(contentsOf: $0) }
        guard appended == nil else { return }
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func append(literal text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// The head as written, ended by the framing's header (if any) and the blank line, and
    /// followed by `body` in the same buffer (one write for a whole answer).
    package consuming func finish(framing: BodyFraming, body: ByteBuffer? = nil) -> ByteBuffer {
        switch framing {
        case .none: break
        case .length(let length): add(name: "Content-Length", value: String(length))
        case .chunked: add(name: "Transfer-Encoding", value: "chunked")
        }
        append(literal: "\r\n")
        guard let body else { return ByteBuffer(bytes: bytes) }
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count + body.readableBytes)
        buffer.writeBytes(bytes)
        buffer.writeImmutableBuffer(body)
        return buffer
    }
}

/// How a message's body is delimited on the wire (RFC 9112 §6), as its head says.
package enum BodyFraming: Sendable, Equatable {
    /// No framing header: no body.
    case none
    /// `Content-Length`.
    case length(Int)
    /// `Transfer-Encoding: chunked`: the body's length is not known when the head leaves.
    case chunked
}
