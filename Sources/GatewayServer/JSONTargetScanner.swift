/// Reads the top-level string fields a JSON object body names (`locationId`, `companyId`) without
/// building the document: nested values are skipped with a bounded depth, and a body that is not
/// well-formed JSON is refused rather than guessed at.
struct JSONTargetScanner {
    /// A field's values as they occur (a repeated key is kept twice: JavaScript would take the last).
    typealias Fields = [String: [String]]

    static let maxDepth = 64

    enum Failure: Error, Equatable {
        case malformed
        case tooDeep
        /// A wanted field whose value is not a string.
        case notAString(String)
    }

    /// Scans `bytes`; a top-level value that is not an object has no fields.
    static func scan(_ bytes: [UInt8], fields wanted: Set<String>) throws(Failure) -> Fields {
        var scanner = Cursor(bytes: bytes)
        scanner.skipWhitespace()
        var found: Fields = [:]
        if scanner.peek == UInt8(ascii: "{") {
            scanner.index += 1
            scanner.skipWhitespace()
            if scanner.peek == UInt8(ascii: "}") {
                scanner.index += 1
            } else {
                while true {
                    scanner.skipWhitespace()
                    let key = try scanner.string()
                    scanner.skipWhitespace()
                    guard scanner.take(UInt8(ascii: ":")) else { throw .malformed }
                    scanner.skipWhitespace()
                    if wanted.contains(key) {
                        guard scanner.peek == UInt8(ascii: "\"") else { throw .notAString(key) }
                        found[key, default: []].append(try scanner.string())
                    } else {
                        try scanner.skipValue()
                    }
                    scanner.skipWhitespace()
                    if scanner.take(UInt8(ascii: ",")) { continue }
                    guard scanner.take(UInt8(ascii: "}")) else { throw .malformed }
                    break
                }
            }
        } else {
            try scanner.skipValue()
        }
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else { throw .malformed }
        return found
    }

    private struct Cursor {
        let bytes: [UInt8]
        var index = 0

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            index += 1
            return true
        }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        /// A JSON string, unescaped.
        mutating func string() throws(Failure) -> String {
            guard take(UInt8(ascii: "\"")) else { throw .malformed }
            var out: [UInt8] = []
            while let byte = peek {
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: out, as: UTF8.self) else { throw .malformed }
                    return text
                case UInt8(ascii: "\\"):
                    guard let escaped = peek else { throw .malformed }
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16)
                        else { throw .malformed }
                        index += 4
                        // Surrogates and non-ASCII escapes are kept as the replacement character: ids are ASCII.
                        let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                        out += Array(String(Character(scalar)).utf8)
                    default: throw .malformed
                    }
                case 0..<0x20: throw .malformed
                default: out.append(byte)
                }
            }
            throw .malformed
        }

        /// Skips one value of any kind, iteratively, refusing nesting deeper than `maxDepth`.
        mutating func skipValue() throws(Failure) {
            var depth = 0
            repeat {
                skipWhitespace()
                guard let byte = peek else { throw .malformed }
                switch byte {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    if depth > JSONTargetScanner.maxDepth { throw .tooDeep }
                    index += 1
                    continue
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    guard depth > 0 else { throw .malformed }
                    depth -= 1
                    index += 1
                case UInt8(ascii: "\""):
                    _ = try string()
                    skipWhitespace()
                    if take(UInt8(ascii: ":")) { continue }
                case UInt8(ascii: ","):
                    guard depth > 0 else { return }
                    index += 1
                    continue
                default:
                    let start = index
                    while let next = peek, !",}] \n\r\t:".utf8.contains(next) { index += 1 }
                    guard index > start, isLiteral(bytes[start..<index]) else { throw .malformed }
                }
            } while depth > 0
        }

        private func isLiteral(_ token: ArraySlice<UInt8>) -> Bool {
            if token.elementsEqual("true".utf8) || token.elementsEqual("false".utf8) || token.elementsEqual("null".utf8) {
                return true
            }
            return Double(String(decoding: token, as: UTF8.self)) != nil
        }
    }
}
