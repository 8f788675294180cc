import Yams

/// Reads YAML documents node by node so that every problem names its file and line, and an
/// unknown or duplicate key is an error rather than silently ignored.
package struct YAMLReader {
    /// A problem at a place in a YAML file.
    package struct Problem: Sendable, Hashable {
        package var line: Int
        package var message: String
    }

    package private(set) var problems: [Problem] = []

    package init() {}

    /// Parses a document; a syntax error, a duplicate key or no document at all (only comments,
    /// found by fuzzing: it was read as nothing, without a word) becomes a problem and nil.
    package mutating func document(_ text: String) -> Node? {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                problems.append(Problem(line: 1, message: "the file holds no YAML document (only comments or blank lines)"))
                return nil
            }
            return node
        } catch let error as YamlError {
            problems.append(Self.problem(from: error))
        } catch {
            problems.append(Problem(line: 1, message: "cannot read YAML: \(error)"))
        }
        return nil
    }

    /// The entries of a mapping, reporting keys outside `allowed` and required keys that are missing.
    package mutating func mapping(
        _ node: Node, what: String, allowed: Set<String>, required: Set<String> = []
    ) -> [String: Node]? {
        guard let mapping = node.mapping else {
            report(node, "\(what) must be a mapping")
            return nil
        }
        var entries: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string else {
                report(key, "\(what) has a key that is not text")
                continue
            }
            guard allowed.contains(name) else {
                report(key, "unknown field '\(name)' in \(what) (allowed: \(allowed.sorted().joined(separator: ", ")))")
                continue
            }
            entries[name] = value
        }
        for name in required.sorted() where entries[name] == nil {
            report(node, "\(what) is missing '\(name)'")
        }
        return entries
    }

    package mutating func string(_ node: Node, what: String) -> String? {
        guard let scalar = node.scalar else {
            report(node, "\(what) must be text")
            return nil
        }
        return scalar.string
    }

    /// A list of strings; a single scalar is not accepted, so `[a, b]` and block lists both read the same.
    package mutating func strings(_ node: Node, what: String) -> [(value: String, line: Int)]? {
        guard let sequence = node.sequence else {
            report(node, "\(what) must be a list")
            return nil
        }
        var values: [(String, Int)] = []
        for item in sequence {
            guard let text = string(item, what: "an entry of \(what)") else { continue }
            values.append((text, Self.line(of: item)))
        }
        return values
    }

    package mutating func report(_ node: Node, _ message: String) {
        problems.append(Problem(line: Self.line(of: node), message: message))
    }

    package static func line(of node: Node) -> Int { node.mark?.line ?? 1 }

    private static func problem(from error: YamlError) -> Problem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            Problem(line: max(mark.line, 1), message: "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            Problem(line: max(context.mark.line, 1), message: "duplicate key(s) \(duplicates.joined(separator: ", "))")
        case .reader(let problem, _, _, _):
            Problem(line: 1, message: "cannot read YAML: \(problem)")
        default:
            Problem(line: 1, message: "invalid YAML: \(error)")
        }
    }
}
