import Foundation

/// A value written `env:NAME` or `file:/path`: how the configuration and the policy files name a
/// secret, which is never written inline. One reading of the two forms for both.
package enum SecretReference {
    package enum Failure: Error, CustomStringConvertible {
        case unsetVariable(String)
        case unreadable(path: String)

        package var description: String {
            switch self {
            case .unsetVariable(let name): "environment variable \(name) is not set"
            case .unreadable(let path): "cannot read \(path)"
            }
        }
    }

    /// What `text` refers to: a variable's (non-empty) value, or a file's UTF-8 content as it is,
    /// with the file's path. Nil when `text` is not a reference.
    package static func resolve(
        _ text: String, environment: [String: String]
    ) throws(Failure) -> (value: String, file: String?)? {
        if text.hasPrefix("env:") {
            let name = String(text.dropFirst(4))
            guard let value = environment[name], !value.isEmpty else { throw .unsetVariable(name) }
            return (value, nil)
        }
        if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard let data = FileManager.default.contents(atPath: path), let content = String(data: data, encoding: .utf8) else {
                throw .unreadable(path: path)
            }
            return (content, path)
        }
        return nil
    }
}
