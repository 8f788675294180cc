import ScopeCatalog

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
        var cursor = JSONCursor(bytes, maximumDepth: maxDepth)
        var found: Fields = [:]
        var notAString: String?
        do throws(JSONCursor.SyntaxError) {
            if cursor.peek() == UInt8(ascii: "{") {
                try cursor.forEachMember { cursor, key, _ throws(JSONCursor.SyntaxError) in
                    guard wanted.contains(key) else { return try cursor.skipValue() }
                    if cursor.peek() == UInt8(ascii: "\"") {
                        found[key, default: []].append(try cursor.readString())
                    } else {
                        notAString = notAString ?? key
                        try cursor.skipValue()
                    }
                }
            } else {
                try cursor.skipValue()
            }
            guard cursor.atEnd() else { throw cursor.failure("text after the value") }
        } catch {
            throw error.tooDeep ? .tooDeep : .malformed
        }
        if let notAString { throw .notAString(notAString) }
        return found
    }
}
