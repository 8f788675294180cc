/// Reads the text fields of a `multipart/form-data` body that name a target, as HighLevel's upload
/// routes (multer over busboy) put them into the request's body: a part with
/// `Content-Disposition: form-data; name="locationId"` (or `locationId[]`, as `qs` reads brackets)
/// and no `filename`.
///
/// Such a part is read, not refused, because HighLevel reads it. What could be read two ways is
/// refused instead: a body that does not parse, a part named with `name*` (RFC 5987), a
/// target-named file, a charset other than UTF-8, a transfer encoding, or bytes that are not UTF-8.
enum MultipartTargetScanner {
    enum Failure: Error, Equatable {
        case malformed(String)
        /// A part names a target in a way the gateway does not read; the reason.
        case unreadable(String)
    }

    static let maxPartHeaderBytes = 16 * 1024

    static func scan(_ body: [UInt8], boundary: String, names: Set<String>) throws(Failure) -> [String: [String]] {
        guard !boundary.isEmpty, boundary.utf8.count <= 70 else { throw .malformed("the multipart boundary is missing or longer than 70 bytes") }
        let delimiter = Array("\r\n--\(boundary)".utf8)
        // The first delimiter may open the body without the line break before it.
        let text = [UInt8(ascii: "\r"), UInt8(ascii: "\n")] + body
        guard var position = find(delimiter, in: text, from: 0) else { throw .malformed("the multipart body has no boundary") }
        var values: [String: [String]] = [:]
        while true {
            position += delimiter.count
            if text[position...].starts(with: Array("--".utf8)) { return values }
            position = try endOfDelimiterLine(text, from: position)
            guard let headersEnd = find(Array("\r\n\r\n".utf8), in: text, from: position - 2) else {
                throw .malformed("a multipart part's headers do not end")
            }
            guard headersEnd - position <= maxPartHeaderBytes else { throw .malformed("a multipart part's headers are too large") }
            let headers = try partHeaders(text[position..<max(position, headersEnd)])
            let contentStart = headersEnd + 4
            guard let contentEnd = find(delimiter, in: text, from: contentStart) else { throw .malformed("the multipart body does not end") }
            if let field = try targetField(headers, names: names) {
                guard let value = String(validating: text[contentStart..<max(contentStart, contentEnd)], as: UTF8.self) else {
                    throw .unreadable("the \(field) part is not UTF-8")
                }
                values[field, default: []].append(value)
            }
            position = contentEnd
        }
    }

    /// After a delimiter: optional spaces or tabs, then a line break; the index after it.
    private static func endOfDelimiterLine(_ text: [UInt8], from start: Int) throws(Failure) -> Int {
        var index = start
        while index < text.count, text[index] == UInt8(ascii: " ") || text[index] == UInt8(ascii: "\t") { index += 1 }
        guard text[index...].starts(with: [UInt8(ascii: "\r"), UInt8(ascii: "\n")]) else {
            throw .malformed("a multipart boundary line has text after it")
        }
        return index + 2
    }

    /// A part's headers, names lower-cased; a repeated header or a folded line is malformed.
    private static func partHeaders(_ block: ArraySlice<UInt8>) throws(Failure) -> [String: String] {
        var headers: [String: String] = [:]
        for line in block.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let line = line.last == UInt8(ascii: "\r") ? line.dropLast() : line
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw .malformed("a multipart part has a header line that is not 'Name: value'")
            }
            var nameReader = ParameterReader(Array(line[..<colon]))
            guard let name = nameReader.token()?.lowercased(), name.utf8.count == colon - line.startIndex else {
                throw .malformed("a multipart part has a header name that is not a token")
            }
            let value = String(decoding: line[line.index(after: colon)...], as: UTF8.self).trimmingSpaces
            guard headers.updateValue(value, forKey: name) == nil else { throw .malformed("a multipart part repeats its \(name) header") }
        }
        return headers
    }

    /// The target a part sets (nil for any other part), or why it cannot be read.
    private static func targetField(_ headers: [String: String], names: Set<String>) throws(Failure) -> String? {
        guard let disposition = headers["content-disposition"] else { return nil }
        var reader = ParameterReader(Array(disposition.utf8))
        guard let kind = reader.token(), let parameters = reader.parameters() else {
            throw .malformed("a multipart part's Content-Disposition does not parse")
        }
        guard kind.lowercased() == "form-data" else { return nil }
        guard parameters["name*"] == nil else { throw .unreadable("a part is named with name*; the gateway reads only name=") }
        guard let name = parameters["name"], names.contains(FormDecoder.rootName(name)) else { return nil }
        let field = FormDecoder.rootName(name)
        if parameters["filename"] != nil || parameters["filename*"] != nil { throw .unreadable("a file part is named \(name)") }
        if let type = headers["content-type"] {
            guard let media = MediaType(type), media.parameters["charset"].map({ $0.lowercased() == "utf-8" }) ?? true else {
                throw .unreadable("the \(name) part's Content-Type is not UTF-8 text")
            }
        }
        if let encoding = headers["content-transfer-encoding"], !["7bit", "8bit", "binary"].contains(encoding.lowercased()) {
            throw .unreadable("the \(name) part has Content-Transfer-Encoding \(encoding)")
        }
        return field
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, start >= 0 else { return nil }
        var index = start
        while index + needle.count <= haystack.count {
            guard let found = haystack[index...].firstIndex(of: first), found + needle.count <= haystack.count else { return nil }
            if haystack[found..<(found + needle.count)].elementsEqual(needle) { return found }
            index = found + 1
        }
        return nil
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
