import GatewayPolicy

/// Reads named parameters from `application/x-www-form-urlencoded` text, a query string or a form
/// body alike, the way HighLevel's server reads them, so the gateway authorizes the target HighLevel
/// will act on.
///
/// Express parses both with `qs` (its `extended` parsers) or Node's `querystring` (its simple
/// ones); the two differ on broken escapes. A name counts if either reading of it names the
/// parameter; a value must read the same both ways, or the request is refused as ambiguous. The
/// name is the root of `qs`'s bracket syntax: `locationId[]`, `locationId[0]`, `locationId[x]` and
/// `[locationId]` all set `locationId`.
enum FormDecoder {
    enum Failure: Error, Equatable {
        /// A value of the named parameter decodes differently under `qs` and `querystring`.
        case ambiguous(name: String)
    }

    /// The values of the parameters in `names`, in the order they occur.
    static func values(_ text: some Collection<UInt8>, names: Set<String>) throws(Failure) -> [String: [String]] {
        var values: [String: [String]] = [:]
        var start = text.startIndex
        while start < text.endIndex {
            let end = text[start...].firstIndex(of: UInt8(ascii: "&")) ?? text.endIndex
            let pair = text[start..<end]
            start = end == text.endIndex ? end : text.index(after: end)
            guard !pair.isEmpty else { continue }
            let separator = Self.separator(in: pair)
            guard let name = target(named: pair[..<(separator ?? pair.endIndex)], in: names) else { continue }
            guard let separator else {
                values[name, default: []].append("")
                continue
            }
            let value = readings(pair[pair.index(after: separator)...])
            guard value.lenient == nil else { throw .ambiguous(name: name) }
            values[name, default: []].append(value.strict)
        }
        return values
    }

    /// The values of `names` in a query string, read through one buffer (a loop over a string's
    /// `utf8` view pays an index check per byte). A query holding neither a `%` nor any of
    /// `mentions` (bytes that any spelling of the names without a `%` contains) sets none of them
    /// and is not parsed at all: the common case.
    static func queryValues(_ query: String, names: Set<String>, mentions: some Sequence<String>) throws(Failure) -> [String: [String]] {
        var query = query
        let values = query.withUTF8 { bytes -> Result<[String: [String]], Failure> in
            guard bytes.contains(UInt8(ascii: "%")) || mentions.contains(where: bytes.containsBytes) else { return .success([:]) }
            return Result { () throws(Failure) in try Self.values(bytes, names: names) }
        }
        return try values.get()
    }

    /// The parameter in `names` that `name` sets, if any. A name without `%`, `+`, `[` or bytes
    /// beyond ASCII reads as written both ways and is its own root: it is compared as bytes, and
    /// no string is made for the names a request does not look for (the common case).
    private static func target<Name: Collection<UInt8>>(named name: Name, in names: Set<String>) -> String? {
        let plain = !name.contains {
            $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "[") || $0 >= 0x80
        }
        guard plain else { return target(readings(name), in: names) }
        return names.first { $0.utf8.elementsEqual(name) }
    }

    /// The parameter in `names` that either reading of a name sets, if any.
    private static func target(_ name: Readings, in names: Set<String>) -> String? {
        let strict = rootName(name.strict)
        if names.contains(strict) { return strict }
        guard let lenient = name.lenient.map(rootName), names.contains(lenient) else { return nil }
        return lenient
    }

    /// Text as `qs` reads it, and as `querystring` does when that differs.
    private struct Readings {
        var strict: String
        var lenient: String?
    }

    /// Without a `%` the two parsers agree, and the text is decoded once; ASCII without `%` or
    /// `+` reads as written (the common case).
    private static func readings(_ text: some Collection<UInt8>) -> Readings {
        if !text.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") || $0 >= 0x80 }) {
            return Readings(strict: String(decoding: text, as: UTF8.self))
        }
        let strict = strictDecode(text)
        guard text.contains(UInt8(ascii: "%")) else { return Readings(strict: strict) }
        let lenient = lenientDecode(text)
        return Readings(strict: strict, lenient: lenient == strict ? nil : lenient)
    }

    /// Where a pair's name ends: `qs` splits at `]=` when there is one (so a bracket may hold `=`), else at the first `=`.
    private static func separator<Pair: Collection<UInt8>>(in pair: Pair) -> Pair.Index? {
        var index = pair.startIndex
        var previous: UInt8?
        var firstEquals: Pair.Index?
        while index < pair.endIndex {
            let byte = pair[index]
            if byte == UInt8(ascii: "=") {
                if previous == UInt8(ascii: "]") { return index }
                firstEquals = firstEquals ?? index
            }
            previous = byte
            index = pair.index(after: index)
        }
        return firstEquals
    }

    /// The parameter a decoded name sets, as `qs` reads brackets: the text before the first
    /// complete `[...]` group (one holding no bracket), or that group's content when the name starts with it.
    static func rootName(_ name: String) -> String {
        guard name.utf8.contains(UInt8(ascii: "[")) else { return name }
        let bytes = Array(name.utf8)
        var open: Int?
        for (index, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "[") {
                open = index
            } else if byte == UInt8(ascii: "]"), let start = open {
                let root = start == 0 ? bytes[1..<index] : bytes[..<start]
                return String(decoding: root, as: UTF8.self)
            }
        }
        return name
    }

    /// `qs`'s decoder: `+` is a space, then `decodeURIComponent`, which refuses the whole text
    /// (leaving it as written) on an escape that is not two hex digits or escaped bytes that are not UTF-8.
    static func strictDecode(_ text: some Collection<UInt8>) -> String {
        let spaced = asJavaScriptString(text)
        guard let bytes = percentDecoded(spaced, keepingBrokenEscapes: false), let decoded = String(validating: bytes, as: UTF8.self)
        else { return String(decoding: spaced, as: UTF8.self) }
        return decoded
    }

    /// `querystring`'s decoder: `+` is a space, each valid escape a byte, a broken one kept as written,
    /// and bytes that are not UTF-8 replaced.
    static func lenientDecode(_ text: some Collection<UInt8>) -> String {
        let spaced = asJavaScriptString(text)
        return String(decoding: percentDecoded(spaced, keepingBrokenEscapes: true) ?? spaced, as: UTF8.self)
    }

    /// The text as HighLevel's parsers get it: already a string, so raw bytes that are not UTF-8
    /// are U+FFFD before any escape is decoded; and `+` is a space.
    private static func asJavaScriptString(_ text: some Collection<UInt8>) -> [UInt8] {
        String(decoding: text, as: UTF8.self).utf8.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }
    }

    private static func percentDecoded(_ bytes: [UInt8], keepingBrokenEscapes: Bool) -> [UInt8]? {
        guard bytes.contains(UInt8(ascii: "%")) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                if index + 2 < bytes.count, let high = ASCIIHex.value(bytes[index + 1]), let low = ASCIIHex.value(bytes[index + 2]) {
                    out.append(high << 4 | low)
                    index += 3
                    continue
                }
                guard keepingBrokenEscapes else { return nil }
            }
            out.append(byte)
            index += 1
        }
        return out
    }
}
