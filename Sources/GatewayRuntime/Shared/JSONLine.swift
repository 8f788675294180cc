import Foundation

/// A one-line JSON object whose keys keep the order they were added in, for output that scripts
/// compare literally (`scopes lookup`).
package struct JSONLine: Sendable {
    private var fields: [String] = []

    package init() {}

    package mutating func add(_ key: String, _ value: String) {
        fields.append("\(Self.quote(key)):\(Self.quote(value))")
    }

    /// A value written as it is: a JSON number or `true`/`false`, which the caller vouches for.
    package mutating func add(_ key: String, literal: String) {
        fields.append("\(Self.quote(key)):\(literal)")
    }

    package mutating func add(_ key: String, _ values: [String]) {
        fields.append("\(Self.quote(key)):[\(values.map(Self.quote).joined(separator: ","))]")
    }

    package mutating func add(_ key: String, object: JSONLine) {
        fields.append("\(Self.quote(key)):\(object.text)")
    }

    package var text: String { "{" + fields.joined(separator: ",") + "}" }

    package static func quote(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
