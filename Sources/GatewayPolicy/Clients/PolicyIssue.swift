/// A problem in a policy file, as `FILE:LINE: message`. One is enough to reject the whole set.
package struct PolicyIssue: Error, Sendable, Hashable, CustomStringConvertible {
    package var file: String
    package var line: Int
    package var message: String

    package init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    package var description: String { "\(file):\(line): \(message)" }
}

/// A policy set rejected as a whole, with every problem found.
package struct PolicyRejection: Error, Sendable, CustomStringConvertible {
    package var issues: [PolicyIssue]

    package init(issues: [PolicyIssue]) {
        self.issues = issues
    }

    package var description: String { issues.map(\.description).joined(separator: "\n") }
}
