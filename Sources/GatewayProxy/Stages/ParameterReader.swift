/// The `; name=value` syntax shared by `Content-Type` and a multipart part's `Content-Disposition`.
struct ParameterReader {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Parameters until the end; nil when the text does not read as parameters or names one twice.
    mutating func parameters() -> [String: String]? {
        var parameters: [String: String] = [:]
        while true {
            skipSpaces()
            if index == bytes.count { return parameters }
            guard take(UInt8(ascii: ";")) else { return nil }
            skipSpaces()
            if index == bytes.count { return parameters }
            guard let name = token(), take(UInt8(ascii: "=")), let value = quotedString() ?? token() else { return nil }
            guard parameters.updateValue(value, forKey: name.lowercased()) == nil else { return nil }
        }
    }

    mutating func token() -> String? {
        let start = index
        while index < bytes.count, Self.isTokenByte(bytes[index]) { index += 1 }
        return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func skipSpaces() {
        while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") { index += 1 }
    }

    private mutating func quotedString() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        var value: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""): return String(decoding: value, as: UTF8.self)
            case UInt8(ascii: "\\"):
                // A quoted-pair escapes a tab, a space or a visible byte, never a control byte (found by fuzzing).
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\t") || (bytes[index] >= 0x20 && bytes[index] != 0x7F) else { return nil }
                value.append(bytes[index])
                index += 1
            case 0..<0x20 where byte != UInt8(ascii: "\t"), 0x7F: return nil
            default: value.append(byte)
            }
        }
        return nil
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
