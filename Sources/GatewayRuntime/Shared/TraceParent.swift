import GatewayPolicy
import HTTPTypes

/// A W3C Trace Context `traceparent`: the trace a request belongs to and the span that sent it.
/// The gateway reads it so one trace id joins a caller's logs, the gateway's request line and,
/// for HighLevel's events, every delivery to a subscriber; it never trusts it for anything else.
package struct TraceParent: Sendable, Equatable, CustomStringConvertible {
    package static let header = HTTPField.Name("traceparent")!

    /// 32 lowercase hexadecimal digits, not all zero.
    package let traceId: String
    /// 16 lowercase hexadecimal digits, not all zero: the span that sent it.
    package let parentId: String
    /// Two hexadecimal digits; bit 0 is "sampled".
    package let flags: String

    /// The value as version 00 writes it (a later version's value is read by its first four fields).
    package var description: String { "00-\(traceId)-\(parentId)-\(flags)" }

    /// Nil for a value the specification (Trace Context Level 1, §3.2) calls invalid: the receiver
    /// then starts a trace of its own rather than guess.
    package init?(_ value: some StringProtocol) {
        // Longer than any version would need: not copied.
        guard value.utf8.count <= 512 else { return nil }
        let bytes = Array(value.utf8)
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-"),
            Self.isHex(bytes[0..<2]), Self.isHex(bytes[3..<35]), Self.isHex(bytes[36..<52]), Self.isHex(bytes[53..<55])
        else { return nil }
        let version = bytes[0..<2]
        guard !version.elementsEqual("ff".utf8) else { return nil }
        // Version 00 is exactly 55 characters; a later version may append fields after a dash.
        if version.elementsEqual("00".utf8) {
            guard bytes.count == 55 else { return nil }
        } else if bytes.count > 55, bytes[55] != UInt8(ascii: "-") {
            return nil
        }
        guard bytes[3..<35].contains(where: { $0 != UInt8(ascii: "0") }), bytes[36..<52].contains(where: { $0 != UInt8(ascii: "0") })
        else { return nil }
        traceId = String(decoding: bytes[3..<35], as: UTF8.self)
        parentId = String(decoding: bytes[36..<52], as: UTF8.self)
        flags = String(decoding: bytes[53..<55], as: UTF8.self)
    }

    private init(traceId: String, parentId: String, flags: String) {
        self.traceId = traceId
        self.parentId = parentId
        self.flags = flags
    }

    /// A new trace, sampled, for an event that arrived without one.
    package static func start() -> TraceParent {
        TraceParent(traceId: randomHex(bytes: 16), parentId: randomHex(bytes: 8), flags: "01")
    }

    /// The same trace with a new span of the gateway's as its parent.
    package func child() -> TraceParent {
        TraceParent(traceId: traceId, parentId: Self.randomHex(bytes: 8), flags: flags)
    }

    private static func isHex(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Never all zero: a zero id is invalid, so the last digit is forced odd in that one case.
    private static func randomHex(bytes count: Int) -> String {
        var random = SystemRandomNumberGenerator()
        var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
        if bytes.allSatisfy({ $0 == 0 }) { bytes[count - 1] = 1 }
        return ASCIIHex.string(bytes)
    }
}
