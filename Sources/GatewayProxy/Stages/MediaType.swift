/// A `Content-Type` value read strictly (RFC 9110 §8.3.1): `type/subtype` of token characters, then
/// `;`-separated `name=value` parameters, a value a token or a quoted string. A value that does not
/// read this way is refused rather than guessed at, since HighLevel's parser would guess otherwise.
struct MediaType: Sendable, Equatable {
    /// Lower-cased.
    let type: String
    /// Lower-cased.
    let subtype: String
    /// Names lower-cased, values as written (quotes and escapes removed).
    let parameters: [String: String]

    /// `application/json` or any `+json` type (`application/vnd.api+json`).
    var isJSON: Bool { type == "application" && (subtype == "json" || subtype.hasSuffix("+json")) }
    var isForm: Bool { type == "application" && subtype == "x-www-form-urlencoded" }
    var isMultipart: Bool { type == "multipart" }
    /// Types the gateway has no parser for but a server may still read as JSON (`text/plain`,
    /// `text/json`, `application/x-json`), as body parsers set to accept any type do.
    var mayBeReadAsJSON: Bool {
        (type == "text" && (subtype == "plain" || subtype == "json")) || (type == "application" && subtype == "x-json")
    }

    init?(_ text: String) {
        var reader = ParameterReader(Array(text.utf8))
        reader.skipSpaces()
        guard let type = reader.token(), reader.take(UInt8(ascii: "/")), let subtype = reader.token() else { return nil }
        guard let parameters = reader.parameters() else { return nil }
        self.type = type.lowercased()
        self.subtype = subtype.lowercased()
        self.parameters = parameters
    }
}
