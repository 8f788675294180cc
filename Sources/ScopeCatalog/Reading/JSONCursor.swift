/// A forward-only reader over JSON bytes that knows the line it is on, so a catalog diagnostic can
/// point an admin at `file.json:LINE`. It decodes only what its caller asks for and skips the rest
/// (an OpenAPI document is mostly schemas the catalog never reads; a request body is read only
/// for its target fields). Strict: invalid UTF-8, lone surrogates and malformed literals are errors.
package struct JSONCursor {
    package struct SyntaxError: Error, CustomStringConvertible {
        package var line: Int
        package var message: String
        /// The input nests deeper than the cursor's limit.
        package var tooDeep = false

        package var description: String { message }
    }

    /// Deeper nesting than this is refused rather than risking the stack.
    package let maximumDepth: Int
    private let bytes: [UInt8]
    private var index = 0
    package private(set) var line = 1

    package init(_ bytes: [UInt8], maximumDepth: Int = 100) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    /// The next value's first byte, after white space; nil at the end.
    package mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    /// Whether the whole input has been read (trailing white space aside).
    package mutating func atEnd() -> Bool { peek() == nil }

    /// Calls `body` with each member's key and the line the key is on; `body` must consume the value.
    package mutating func forEachMember(_ body: (inout JSONCursor, _ key: String, _ line: Int) throws(SyntaxError) -> Void) throws(SyntaxError) {
        try expect(UInt8(ascii: "{"))
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw failure("expected a member name") }
            let keyLine = line
            let key = try readString()
            try expect(UInt8(ascii: ":"))
            try body(&self, key, keyLine)
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return
            default: throw failure("expected ',' or '}' in an object")
            }
        }
    }

    /// Calls `body` for each element; `body` must consume the element.
    package mutating func forEachElement(_ body: (inout JSONCursor) throws(SyntaxError) -> Void) throws(SyntaxError) {
        try expect(UInt8(ascii: "["))
        if peek() == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            try body(&self)
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return
            default: throw failure("expected ',' or ']' in an array")
            }
        }
    }

    package mutating func readString() throws(SyntaxError) -> String {
        try expect(UInt8(ascii: "\""))
        var decoded: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: decoded, as: UTF8.self) else { throw failure("invalid UTF-8 in a string") }
                return text
            case UInt8(ascii: "\\"):
                try readEscape(into: &decoded)
            case 0..<0x20:
                throw failure("control character inside a string")
            default:
                decoded.append(byte)
            }
        }
        throw failure("unterminated string")
    }

    /// Consumes one value of any kind without keeping it.
    package mutating func skipValue() throws(SyntaxError) {
        try skipValue(depth: 0)
    }

    private mutating func skipValue(depth: Int) throws(SyntaxError) {
        guard depth < maximumDepth else {
            var error = failure("nesting deeper than \(maximumDepth) levels")
            error.tooDeep = true
            throw error
        }
        switch peek() {
        case UInt8(ascii: "{"): try forEachMember { cursor, _, _ throws(SyntaxError) in try cursor.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["): try forEachElement { cursor throws(SyntaxError) in try cursor.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""): _ = try readString()
        case UInt8(ascii: "t"): try expectWord("true")
        case UInt8(ascii: "f"): try expectWord("false")
        case UInt8(ascii: "n"): try expectWord("null")
        case .some(let byte) where byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte):
            try skipNumber()
        case .some: throw failure("unexpected character")
        case nil: throw failure("unexpected end of input")
        }
    }

    /// The run of number bytes at the cursor, which must be RFC 8259's number: `-`? then `0` or
    /// digits without a leading zero, then `.digits`?, then `e`/`E`, a sign and digits? (Found by
    /// fuzzing: `Double(_:)`, checked before, also takes `2.`, `+1` and `.5`.)
    private mutating func skipNumber() throws(SyntaxError) {
        let start = index
        while index < bytes.count, Self.isNumberByte(bytes[index]) { index += 1 }
        guard Self.isJSONNumber(bytes[start..<index]) else { throw failure("malformed number") }
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private static func isJSONNumber(_ text: ArraySlice<UInt8>) -> Bool {
        var rest = text[...]
        func digits() -> Int {
            let run = rest.prefix(while: isDigit)
            rest = rest.dropFirst(run.count)
            return run.count
        }
        if rest.first == UInt8(ascii: "-") { rest = rest.dropFirst() }
        if rest.first == UInt8(ascii: "0") {
            rest = rest.dropFirst()
        } else if digits() == 0 {
            return false
        }
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            guard digits() > 0 else { return false }
        }
        if rest.first == UInt8(ascii: "e") || rest.first == UInt8(ascii: "E") {
            rest = rest.dropFirst()
            if rest.first == UInt8(ascii: "+") || rest.first == UInt8(ascii: "-") { rest = rest.dropFirst() }
            guard digits() > 0 else { return false }
        }
        return rest.isEmpty
    }

    private mutating func readEscape(into decoded: inout [UInt8]) throws(SyntaxError) {
        guard index < bytes.count else { throw failure("unterminated escape") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(byte)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0C)
        case UInt8(ascii: "n"): decoded.append(0x0A)
        case UInt8(ascii: "r"): decoded.append(0x0D)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard bytes[index...].starts(with: [UInt8(ascii: "\\"), UInt8(ascii: "u")]) else {
                    throw failure("unpaired surrogate in a string")
                }
                index += 2
                let low = try readHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate in a string") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid \\u escape") }
            decoded.append(contentsOf: Array(String(Character(unicode)).utf8))
        default: throw failure("invalid escape '\\\(Character(Unicode.Scalar(byte)))'")
        }
    }

    private mutating func readHex4() throws(SyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("short \\u escape") }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            guard let digit = Self.hexValue(byte) else { throw failure("invalid \\u escape") }
            value = value << 4 | digit
        }
        index += 4
        return value
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private mutating func expect(_ byte: UInt8) throws(SyntaxError) {
        guard peek() == byte else { throw failure("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    private mutating func expectWord(_ word: String) throws(SyntaxError) {
        guard bytes[index...].starts(with: word.utf8) else { throw failure("unexpected literal") }
        index += word.utf8.count
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\n"): line += 1
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): break
            default: return
            }
            index += 1
        }
    }

    package func failure(_ message: String) -> SyntaxError {
        SyntaxError(line: line, message: message)
    }
}
