import Foundation
import GatewayTestSupport
import Testing

/// README's quickstart, steps 2 and 3, run as written: its `gateway.yaml`, its commands (the
/// placeholders filled in), the policy with the key `keys new` printed; `config check` and
/// `policy check` must pass. (Steps 4 to 6, serve, install and call, are what `ServeProcessTests`
/// does against the simulator.)
@Suite("README quickstart")
struct QuickstartTests {
    /// The fenced blocks of one kind in the quickstart section, in order.
    static func blocks(_ kind: String) throws -> [String] {
        let readme = try String(contentsOf: DocumentationTests.root.appending(path: "README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: "\n## Quickstart against HighLevel\n"))
        let end = readme.range(of: "\n## ", range: start.upperBound..<readme.endIndex)?.lowerBound ?? readme.endIndex
        let section = readme[start.upperBound..<end]
        let fence = "```\(kind)\n"
        var found: [String] = []
        var rest = section[...]
        while let open = rest.range(of: fence), let close = rest.range(of: "```", range: open.upperBound..<rest.endIndex) {
            let lines = rest[open.upperBound..<close.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            // As deep as the fence: the blocks sit in a numbered list.
            let indent = rest[..<open.lowerBound].reversed().prefix { $0 == " " }.count
            found.append(lines.map { $0.dropFirst(min(indent, $0.prefix { $0 == " " }.count)) }.joined(separator: "\n"))
            rest = rest[close.upperBound...]
        }
        return found
    }

    @Test func stepsTwoAndThreeRunAsWritten() async throws {
        let yaml = try Self.blocks("yaml")
        let shell = try Self.blocks("sh")
        #expect(yaml.count >= 2 && shell.count >= 2)
        let directory = TemporaryDirectory()
        directory.write("gateway.yaml", yaml[0])
        let keys = try await ChildProcess.run(ServeFixture.binary, ["keys", "new", "--client", "crm"])
        let keyLine = try #require(keys.text.split(separator: "\n").first { $0.hasPrefix("key: sha256:") })
        directory.write("policies/clients/crm.yaml", yaml[1].replacingOccurrences(of: "key: sha256:...", with: String(keyLine)))
        let script =
            "set -euo pipefail\ncd '\(directory.file(""))'\nghl-gateway() { '\(ServeFixture.binary)' \"$@\"; }\n"
            + shell.prefix(2).joined(separator: "\n").replacingOccurrences(of: "=...", with: "=quickstart-value")
        let run = try await ChildProcess.run("/bin/bash", ["-c", script])
        #expect(run.status == 0, "\(run.text)")
        #expect(run.text.contains("ok: "), "\(run.text)")
        #expect(run.text.contains("1 client(s)"), "\(run.text)")
    }
}
