/// A HighLevel path template such as `/contacts/:contactId/tasks`, split into literal and parameter segments.
///
/// Two templates with the same `shape` are the same route, whatever their parameters are named.
package struct RouteTemplate: Sendable, Hashable, Encodable, CustomStringConvertible {
    package enum Segment: Sendable, Hashable {
        case literal(String)
        case parameter(String)
    }

    package enum ParseError: Error, Equatable, CustomStringConvertible {
        case notAbsolute(String)
        case emptySegment(String)
        case emptyParameterName(String)
        case invalidCharacter(String, Character)

        package var description: String {
            switch self {
            case .notAbsolute(let t): "template '\(t)' does not start with '/'"
            case .emptySegment(let t): "template '\(t)' has an empty segment"
            case .emptyParameterName(let t): "template '\(t)' has a parameter without a name"
            case .invalidCharacter(let t, let c): "template '\(t)' contains '\(c)'"
            }
        }
    }

    package let segments: [Segment]

    /// Parses a canonical template: leading slash, no empty segment, no trailing slash (except the root `/`).
    package init(_ text: String) throws(ParseError) {
        guard text.first == "/" else { throw .notAbsolute(text) }
        if let bad = text.first(where: { $0.isWhitespace || $0 == "?" || $0 == "#" || $0 == "%" || $0 == "\\" }) {
            throw .invalidCharacter(text, bad)
        }
        guard text != "/" else {
            segments = []
            return
        }
        var parsed: [Segment] = []
        for piece in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            if piece.isEmpty { throw .emptySegment(text) }
            if piece.first == ":" {
                let name = piece.dropFirst()
                if name.isEmpty { throw .emptyParameterName(text) }
                parsed.append(.parameter(String(name)))
            } else {
                parsed.append(.literal(String(piece)))
            }
        }
        segments = parsed
    }

    init(segments: [Segment]) {
        self.segments = segments
    }

    package var description: String {
        guard !segments.isEmpty else { return "/" }
        return segments.map { segment in
            switch segment {
            case .literal(let text): "/" + text
            case .parameter(let name): "/:" + name
            }
        }.joined()
    }

    /// The template with every parameter name erased: the identity of a route.
    package var shape: String {
        guard !segments.isEmpty else { return "/" }
        return segments.map { segment in
            switch segment {
            case .literal(let text): "/" + text
            case .parameter: "/:"
            }
        }.joined()
    }

    /// The path this template names with `parameters`' values in order (one per parameter).
    func filled(with parameters: [RouteParameter]) -> String {
        guard !segments.isEmpty else { return "/" }
        var path = ""
        var next = parameters.makeIterator()
        for segment in segments {
            path += "/"
            switch segment {
            case .literal(let text): path += text
            case .parameter: path += next.next()?.value ?? ""
            }
        }
        return path
    }

    package var parameterNames: [String] {
        segments.compactMap { segment in
            if case .parameter(let name) = segment { name } else { nil }
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A method and a template: one entry of the catalog's identity space. Literals are compared
/// ignoring ASCII case, as HighLevel's router compares them: `/x/customFields` and
/// `/x/customfields` are one route.
package struct RouteKey: Sendable, Hashable, CustomStringConvertible {
    package var method: RouteMethod
    /// The template's shape, ASCII-lowercased.
    package var shape: String

    package init(method: RouteMethod, template: RouteTemplate) {
        self.method = method
        self.shape = ASCIICase.lowercased(template.shape)
    }

    package var description: String { "\(method.rawValue) \(shape)" }
}
