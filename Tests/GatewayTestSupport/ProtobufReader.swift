/// Reads protocol buffers' wire format field by field (varint, 64-bit, length-delimited, 32-bit),
/// so a test can decode OTLP's messages without generated code: an implementation independent of
/// the exporter's.
package struct ProtobufReader {
    package enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes([UInt8])
        case fixed32(UInt32)

        package var bytes: [UInt8] {
            if case .bytes(let bytes) = self { return bytes }
            return []
        }

        package var integer: UInt64? {
            switch self {
            case .varint(let value), .fixed64(let value): value
            case .fixed32(let value): UInt64(value)
            case .bytes: nil
            }
        }

        package var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    package struct Malformed: Error {}

    /// Every field of `message`, in order, by field number.
    package static func fields(_ message: [UInt8]) throws -> [(number: Int, value: Value)] {
        var fields: [(Int, Value)] = []
        var index = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < message.count, shift < 64 else { throw Malformed() }
                let byte = message[index]
                index += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        func take(_ count: Int) throws -> [UInt8] {
            guard count >= 0, index + count <= message.count else { throw Malformed() }
            defer { index += count }
            return Array(message[index..<index + count])
        }
        func littleEndian(_ bytes: [UInt8]) -> UInt64 {
            bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        while index < message.count {
            let key = try varint()
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: fields.append((number, .varint(try varint())))
            case 1: fields.append((number, .fixed64(littleEndian(try take(8)))))
            case 2: fields.append((number, .bytes(try take(Int(try varint())))))
            case 5: fields.append((number, .fixed32(UInt32(littleEndian(try take(4))))))
            default: throw Malformed()
            }
        }
        return fields
    }
}
