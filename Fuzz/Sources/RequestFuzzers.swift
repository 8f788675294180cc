import Foundation

@testable import GatewayProxy
@testable import GatewayRuntime

/// A canonical target is a fixed point (canonicalizing it again changes nothing) and never holds
/// a traversal, an empty segment or an escape that decodes to an unreserved character.
enum CanonicalTargetFuzzer: Fuzzer {
    static let name = "canonical-target"

    static func check(_ input: [UInt8]) {
        guard let text = String(validating: input, as: UTF8.self), let target = try? CanonicalTarget(text, maxLength: 8192) else { return }
        guard let again = try? CanonicalTarget(target.path, maxLength: 8192), again.path == target.path else {
            violated("the canonical path is not a fixed point", input)
        }
        let segments = target.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if segments.contains(where: { $0 == "." || $0 == ".." }) { violated("a canonical path holds a dot segment", input) }
        if segments.dropLast().contains(where: \.isEmpty) { violated("a canonical path holds an empty segment", input) }
        if target.path.lowercased().contains("%2e") || target.path.contains("\\") { violated("a canonical path holds a traversal spelling", input) }
    }
}

/// What the form decoder reports is what a reference decoder (Foundation's percent decoding, which
/// fails where `decodeURIComponent` does, and a regular expression for `qs`'s brackets) reads.
enum FormDecoderFuzzer: Fuzzer {
    static let name = "form-decoder"
    static let names: Set<String> = ["locationId", "companyId"]
    static let bracket = try! NSRegularExpression(pattern: #"\[[^\[\]]*\]"#)

    static func check(_ input: [UInt8]) {
        guard let values = try? FormDecoder.values(input, names: names) else { return }
        var expected: [String: [String]] = [:]
        for pair in input.split(separator: UInt8(ascii: "&")) {
            // In UTF-16 units and literally, as JavaScript's indexOf: a Swift search would take `=`
            // and a combining mark after it as one character (found by fuzzing the fuzzer).
            let text = String(decoding: pair, as: UTF8.self) as NSString
            let bracketEquals = text.range(of: "]=", options: .literal)
            let equals = bracketEquals.location != NSNotFound ? bracketEquals.location + 1 : text.range(of: "=", options: .literal).location
            let rawName = equals == NSNotFound ? text as String : text.substring(to: equals)
            let readings = [reference(rawName), lenient(rawName)].map(root)
            guard let name = readings.first(where: names.contains) else { continue }
            expected[name, default: []].append(equals == NSNotFound ? "" : reference(text.substring(from: equals + 1)))
        }
        guard values == expected else { violated("the decoder read \(values), the reference \(expected)", input) }
    }

    /// `+` replaced scalar by scalar (a `+` before a combining mark is still a `+` to JavaScript).
    private static func reference(_ text: String) -> String {
        let spaced = String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "+" ? " " : $0 }))
        return spaced.removingPercentEncoding ?? spaced
    }

    /// Node's `querystring`: valid escapes decoded one by one, broken ones kept.
    private static func lenient(_ text: String) -> String {
        FormDecoder.lenientDecode(Array(text.utf8))
    }

    /// In UTF-16 units, as a JavaScript regular expression sees the text: a bracket followed by a
    /// combining mark is one Swift character but still a bracket to `qs` (found by fuzzing the fuzzer).
    private static func root(_ name: String) -> String {
        let text = name as NSString
        guard let match = bracket.firstMatch(in: name, range: NSRange(location: 0, length: text.length)) else { return name }
        if match.range.location > 0 { return text.substring(to: match.range.location) }
        return text.substring(with: NSRange(location: 1, length: match.range.length - 2))
    }
}

/// A JSON body the scanner reads is one Foundation's parser reads too (but for a number beyond
/// Double's range, long or with a large exponent, which Foundation refuses and JavaScript reads
/// as Infinity), and each target
/// field the scanner reports is, in its last occurrence, the value JavaScript's `JSON.parse` keeps.
enum JSONTargetFuzzer: Fuzzer {
    static let name = "json-target"

    static func check(_ input: [UInt8]) {
        guard let fields = try? JSONTargetScanner.scan(input, fields: ProxyStages.targetFields) else { return }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(input), options: [.fragmentsAllowed]) else {
            let finite = withOverflowingNumbersZeroed(input)
            if finite != input, (try? JSONSerialization.jsonObject(with: Data(finite), options: [.fragmentsAllowed])) != nil { return }
            violated("the scanner read JSON that Foundation refuses", input)
        }
        guard let object = parsed as? [String: Any] else {
            if !fields.isEmpty { violated("fields were read from a value that is not an object", input) }
            return
        }
        for field in ProxyStages.targetFields {
            let reported = fields[field]
            let reference = object[field] as? String
            guard reported?.last == reference else { violated("\(field): scanner \(reported ?? []), reference \(reference ?? "nil")", input) }
        }
    }

    /// The input with every number outside a string that Double cannot hold (a long integer as much
    /// as a large exponent) written as `0`, so Foundation judges the rest of the text.
    private static func withOverflowingNumbersZeroed(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = input.startIndex
        var inString = false
        while index < input.endIndex {
            let byte = input[index]
            if inString {
                output.append(byte)
                if byte == UInt8(ascii: "\\"), index + 1 < input.endIndex {
                    output.append(input[index + 1])
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") { inString = false }
                index += 1
                continue
            }
            guard isNumberByte(byte) else {
                if byte == UInt8(ascii: "\"") { inString = true }
                output.append(byte)
                index += 1
                continue
            }
            let end = input[index...].firstIndex { !isNumberByte($0) } ?? input.endIndex
            let number = input[index..<end]
            let value = Double(String(decoding: number, as: UTF8.self))
            output.append(contentsOf: value.map { $0.isInfinite } == true ? Array("0".utf8) : Array(number))
            index = end
        }
        return output
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
    }
}

/// The multipart scanner ends on every input, and every value it reports is bytes of the body.
enum MultipartFuzzer: Fuzzer {
    static let name = "multipart"

    static func check(_ input: [UInt8]) {
        guard let fields = try? MultipartTargetScanner.scan(input, boundary: "B", names: ProxyStages.targetFields) else { return }
        // Bytes, not characters: a value may end before a combining mark in the body.
        for value in fields.values.joined() where !value.isEmpty {
            let bytes = Array(value.utf8)
            let found = input.indices.contains { input[$0...].starts(with: bytes) }
            if !found { violated("a value that is not in the body: \(value)", input) }
        }
    }
}

/// A media type that parses round-trips: its type, subtype and parameters read the same again.
enum MediaTypeFuzzer: Fuzzer {
    static let name = "media-type"

    static func check(_ input: [UInt8]) {
        guard let text = String(validating: input, as: UTF8.self), let media = MediaType(text) else { return }
        // Escaped scalar by scalar: a backslash before a combining mark is still a backslash.
        func quoted(_ value: String) -> String {
            "\"" + value.unicodeScalars.map { $0 == "\\" || $0 == "\"" ? "\\\($0)" : "\($0)" }.joined() + "\""
        }
        let written =
            "\(media.type)/\(media.subtype)" + media.parameters.sorted { $0.key < $1.key }.map { "; \($0.key)=\(quoted($0.value))" }.joined()
        guard let again = MediaType(written), again == media else { violated("the media type does not read back from \(written)", input) }
    }
}
