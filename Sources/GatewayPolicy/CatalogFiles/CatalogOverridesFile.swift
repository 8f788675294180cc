import ScopeCatalog
import Yams

/// `policies/catalog-overrides.yaml`: corrections of rows the scopes table gets wrong, routes it
/// lacks, and the webhook events HighLevel sends with the scopes that entitle a client to each.
///
/// ```yaml
/// overrides:
///   - correct: DELETE /medias/:fileId
///     scopes: [medias.write]
///     reason: listed under funnels/pagecount.readonly in the table
///   - add: GET /contacts/:contactId/tags
///     scopes: [contacts.readonly]
///     access: [Sub-Account]
/// events:
///   - event: AppointmentCreate
///     scopes: [calendars/events.readonly]
///     reason: the table names no scope; an appointment is a calendar event
/// ```
package enum CatalogOverridesFile {
    /// Reads the overrides; YAML problems come back as error diagnostics of kind `invalid_override`.
    /// The file's route overrides and event entries, and its problems.
    package struct Parsed: Sendable {
        package var overrides: [CatalogOverride] = []
        package var events: [CatalogEventOverride] = []
        package var problems: [CatalogDiagnostic] = []
    }

    package static func parse(_ text: String, file: String) -> Parsed {
        var reader = YAMLReader()
        var parsed = Parsed()
        if let root = reader.document(text),
            let top = reader.mapping(root, what: "the overrides file", allowed: ["overrides", "events"])
        {
            if let list = top["overrides"] {
                if let items = list.sequence {
                    parsed.overrides = items.compactMap { entry(of: $0, file: file, reader: &reader) }
                } else {
                    reader.report(list, "'overrides' must be a list")
                }
            }
            if let list = top["events"] {
                if let items = list.sequence {
                    parsed.events = items.compactMap { event(of: $0, file: file, reader: &reader) }
                } else {
                    reader.report(list, "'events' must be a list")
                }
            }
        }
        parsed.problems = reader.problems.map {
            CatalogDiagnostic(.error, .invalidOverride, at: SourceLocation(file: file, line: $0.line), $0.message)
        }
        return parsed
    }

    /// `- event: Name` with `scopes: [...]` and an optional `reason:`.
    private static func event(of node: Yams.Node, file: String, reader: inout YAMLReader) -> CatalogEventOverride? {
        guard let fields = reader.mapping(node, what: "an event", allowed: ["event", "scopes", "reason"]) else { return nil }
        guard let nameNode = fields["event"], let name = reader.string(nameNode, what: "'event'"),
            !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        else {
            reader.report(node, "an event needs 'event: Name' (letters, digits, '_')")
            return nil
        }
        guard let scopesNode = fields["scopes"], let scopes = reader.strings(scopesNode, what: "'scopes'") else {
            reader.report(node, "event \(name): needs 'scopes: [scope, ...]'")
            return nil
        }
        let reason = fields["reason"].flatMap { reader.string($0, what: "'reason'") }
        return CatalogEventOverride(
            event: name, scopes: scopes.map(\.value), reason: reason, location: SourceLocation(file: file, line: YAMLReader.line(of: node)))
    }

    private static func entry(of node: Yams.Node, file: String, reader: inout YAMLReader) -> CatalogOverride? {
        let actions = CatalogOverride.Action.allCases.map(\.rawValue)
        guard
            let fields = reader.mapping(
                node, what: "an override", allowed: Set(actions + ["scopes", "access", "reason"]))
        else { return nil }
        let given = actions.filter { fields[$0] != nil }
        guard given.count == 1, let action = CatalogOverride.Action(rawValue: given[0]),
            let routeNode = fields[given[0]]
        else {
            reader.report(node, "an override needs exactly one of 'correct: METHOD /path' or 'add: METHOD /path'")
            return nil
        }
        guard let routeText = reader.string(routeNode, what: "'\(action.rawValue)'") else { return nil }
        let parts = routeText.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let method = RouteMethod(rawValue: String(parts[0])) else {
            reader.report(routeNode, "'\(routeText)' is not 'METHOD /path' with METHOD one of GET, POST, PUT, PATCH, DELETE")
            return nil
        }
        let template: RouteTemplate
        do throws(RouteTemplate.ParseError) { template = try RouteTemplate(String(parts[1])) } catch {
            reader.report(routeNode, error.description)
            return nil
        }
        var scopes: [String]?
        if let node = fields["scopes"] {
            guard let values = reader.strings(node, what: "'scopes'") else { return nil }
            scopes = values.map { $0.value }
        }
        var access: [AccessType]?
        if let node = fields["access"] {
            guard let values = reader.strings(node, what: "'access'") else { return nil }
            var types: [AccessType] = []
            for (value, _) in values {
                guard let type = AccessType(rawValue: value) else {
                    reader.report(node, "unknown access type '\(value)' (expected one of \(AccessType.expectedNames))")
                    return nil
                }
                types.append(type)
            }
            access = types
        }
        let reason = fields["reason"].flatMap { reader.string($0, what: "'reason'") }
        return CatalogOverride(
            action: action, method: method, template: template, scopes: scopes, access: access, reason: reason,
            location: SourceLocation(file: file, line: YAMLReader.line(of: node)))
    }
}
