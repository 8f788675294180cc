/// One endpoint row of HighLevel's scopes table, after its quirks were handled.
package struct ScopeTableEntry: Sendable, Hashable {
    package var scope: String
    package var method: RouteMethod
    package var template: RouteTemplate
    /// Empty when the table's Access Type cell was empty.
    package var access: [AccessType]
    package var location: SourceLocation
}

/// HighLevel's published scopes table (`policies/highlevel-scopes.md`), read row by row.
///
/// The table is hand-maintained markdown with known quirks; each one is handled and reported as a
/// diagnostic with its line, so an admin who pastes a newer table sees exactly what was read.
package struct ScopeTable: Sendable {
    package private(set) var entries: [ScopeTableEntry] = []
    /// Every scope the table names, in table order.
    package private(set) var scopes: [String] = []
    /// Webhook event name → the scopes whose rows list it.
    package private(set) var events: [String: [String]] = [:]
    package private(set) var diagnostics: [CatalogDiagnostic] = []

    private static let requiredColumns = ["scope", "api endpoints", "webhook events", "access type"]

    package init(parsing text: String, file: String) {
        var columns: [Int]?
        var headerCellCount = 0
        var currentScope: String?
        var scopeLines: [String: SourceLocation] = [:]
        var scopesWithEndpoints: Set<String> = []

        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let here = SourceLocation(file: file, line: index + 1)
            let line = rawLine.trimmingWhitespace()
            guard line.first == "|" else { continue }
            let cells = Self.cells(of: line)

            guard let columnIndexes = columns else {
                let names = cells.map { $0.trimmingWhitespace().lowercased() }
                let found = Self.requiredColumns.map { names.firstIndex(of: $0) }
                if found.contains(nil) {
                    diagnostics.report(
                        .error, .malformedHeader, here,
                        "the table header must name the columns Scope, API Endpoints, Webhook Events, Access Type")
                    return
                }
                columns = found.compactMap { $0 }
                headerCellCount = cells.count
                continue
            }
            if cells.allSatisfy(Self.isSeparatorCell) { continue }
            guard cells.count == headerCellCount else {
                diagnostics.report(.error, .malformedRow, here, "expected \(headerCellCount) cells as in the header, found \(cells.count)")
                continue
            }

            let scopeCell = clean(cells[columnIndexes[0]], here)
            let endpointCell = clean(cells[columnIndexes[1]], here)
            let eventCell = clean(cells[columnIndexes[2]], here)
            let accessCell = clean(cells[columnIndexes[3]], here)

            let scope: String
            if scopeCell.isEmpty {
                guard let current = currentScope else {
                    diagnostics.report(.error, .malformedRow, here, "a row with an empty Scope cell has no scope above it to continue")
                    continue
                }
                scope = current
                diagnostics.report(.note, .continuedScope, here, "empty Scope cell: continues '\(current)'")
            } else {
                guard Self.isValidScopeName(scopeCell) else {
                    diagnostics.report(.error, .malformedRow, here, "'\(scopeCell)' is not a scope name")
                    continue
                }
                scope = scopeCell
                currentScope = scope
                if scopeLines[scope] == nil {
                    scopeLines[scope] = here
                    scopes.append(scope)
                }
            }

            if !eventCell.isEmpty {
                events[eventCell, default: []].appendIfAbsent(scope)
            }

            guard !endpointCell.isEmpty else {
                if !eventCell.isEmpty {
                    diagnostics.report(.note, .eventsWithoutEndpoint, here, "row lists event '\(eventCell)' for '\(scope)' but no endpoint")
                }
                continue
            }
            guard let entry = endpoint(endpointCell, access: accessCell, scope: scope, at: here) else { continue }
            entries.append(entry)
            scopesWithEndpoints.insert(scope)
        }

        if columns == nil {
            diagnostics.report(.error, .malformedHeader, SourceLocation(file: file, line: 1), "no markdown table found")
        }
        for scope in scopes where !scopesWithEndpoints.contains(scope) {
            diagnostics.report(
                .note, .scopeWithoutEndpoint, scopeLines[scope]!,
                "scope '\(scope)' lists no endpoint; it grants no route until an override adds one")
        }
        diagnostics.sort { $0.location.line < $1.location.line }
    }

    /// Reads `METHOD path` plus the access cell into an entry, repairing and reporting path quirks.
    private mutating func endpoint(
        _ cell: String, access accessCell: String, scope: String, at here: SourceLocation
    ) -> ScopeTableEntry? {
        let parts = cell.split(maxSplits: 1, whereSeparator: \.isWhitespace)
        guard parts.count == 2, let method = RouteMethod(rawValue: String(parts[0]).uppercased()) else {
            diagnostics.report(.error, .malformedRow, here, "'\(cell)' is not 'METHOD /path' with a known method")
            return nil
        }
        var path = String(parts[1]).trimmingWhitespace()
        if path.contains(where: \.isWhitespace) {
            path.removeAll(where: \.isWhitespace)
            diagnostics.report(.warning, .spaceInPath, here, "white space inside the path of '\(cell)' removed: \(path)")
        }
        if path.first != "/" {
            path = "/" + path
            diagnostics.report(.warning, .missingLeadingSlash, here, "path without leading slash read as \(path)")
        }
        if path.count > 1, path.last == "/" {
            path.removeLast()
            diagnostics.report(.note, .trailingSlash, here, "trailing slash of '\(path)/' dropped (one trailing slash is ignored when matching)")
        }
        let template: RouteTemplate
        do throws(RouteTemplate.ParseError) { template = try RouteTemplate(path) } catch {
            diagnostics.report(.error, .malformedRow, here, error.description)
            return nil
        }

        var access: [AccessType] = []
        for name in accessCell.split(separator: ",").map({ String($0).trimmingWhitespace() }) where !name.isEmpty {
            guard let type = AccessType.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
                diagnostics.report(.error, .malformedRow, here, "unknown access type '\(name)' (expected one of \(AccessType.expectedNames))")
                return nil
            }
            access.appendIfAbsent(type)
        }
        if access.isEmpty {
            diagnostics.report(
                .warning, .missingAccessType, here,
                "\(method.rawValue) \(template) has no access type; it cannot be forwarded until an override sets one")
        }
        if method.isWrite, scope.isReadOnlyScope {
            diagnostics.report(
                .warning, .writeUnderReadOnlyScope, here,
                "\(method.rawValue) \(template) is listed under read-only scope '\(scope)'; correct it in catalog-overrides.yaml")
        }
        return ScopeTableEntry(scope: scope, method: method, template: template, access: access.sorted(), location: here)
    }

    /// Decodes HTML entities and markdown escapes in a cell, reporting each, and trims it.
    private mutating func clean(_ raw: Substring, _ here: SourceLocation) -> String {
        var out = ""
        var rest = raw[...]
        while let char = rest.first {
            if char == "\\", rest.count > 1, let next = rest.dropFirst().first, next.isPunctuation || next.isSymbol {
                diagnostics.report(.note, .escapedCharacter, here, "markdown escape '\\\(next)' read as '\(next)'")
                out.append(next)
                rest = rest.dropFirst(2)
            } else if char == "&", let end = rest.prefix(12).firstIndex(of: ";"),
                rest[rest.index(after: rest.startIndex)..<end].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "#" }),
                rest.index(after: rest.startIndex) < end
            {
                let entity = String(rest[...end])
                if let decoded = Self.knownEntities[entity] {
                    diagnostics.report(.note, .htmlEntity, here, "HTML entity '\(entity)' read as '\(decoded)'")
                    out.append(decoded)
                } else {
                    diagnostics.report(.warning, .htmlEntity, here, "unknown HTML entity '\(entity)' read as a blank")
                    out.append(" ")
                }
                rest = rest[rest.index(after: end)...]
            } else {
                out.append(char)
                rest = rest.dropFirst()
            }
        }
        return out.trimmingWhitespace()
    }

    private static let knownEntities: [String: String] = [
        "&nbsp;": " ", "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#39;": "'",
    ]

    /// Splits `| a | b |` into its cells, honouring `\|` escapes.
    private static func cells(of line: String) -> [Substring] {
        var body = line[...]
        if body.first == "|" { body = body.dropFirst() }
        if body.last == "|", !body.hasSuffix("\\|") { body = body.dropLast() }
        var cells: [Substring] = []
        var start = body.startIndex
        var index = body.startIndex
        while index < body.endIndex {
            if body[index] == "\\" {
                index = body.index(after: index)
                if index < body.endIndex { index = body.index(after: index) }
                continue
            }
            if body[index] == "|" {
                cells.append(body[start..<index])
                start = body.index(after: index)
            }
            index = body.index(after: index)
        }
        cells.append(body[start..<body.endIndex])
        return cells
    }

    private static func isSeparatorCell(_ cell: Substring) -> Bool {
        let text = cell.trimmingWhitespace()
        return !text.isEmpty && text.allSatisfy { $0 == "-" || $0 == ":" } && text.contains("-")
    }

    private static func isValidScopeName(_ name: String) -> Bool {
        name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || "._/-".contains($0) }
    }
}

extension String {
    /// `.readonly` or `.read`: a scope that should grant no write method.
    var isReadOnlyScope: Bool { hasSuffix(".readonly") || hasSuffix(".read") }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }
}

extension Array where Element: Equatable {
    mutating func appendIfAbsent(_ element: Element) {
        if !contains(element) { append(element) }
    }
}
