import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

/// README's quickstart run as written, its placeholders filled in: steps 2 and 3 (its
/// `gateway.yaml`, its commands, the policy with the key `keys new` printed; `config check` and
/// `policy check` pass), then 4 to 6 against the simulator in HighLevel's place (serve, the
/// install, `/health/tokens`, the `curl` and `policy explain` lines).
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

    /// The quickstart section's text.
    static func section() throws -> Substring {
        let readme = try String(contentsOf: DocumentationTests.root.appending(path: "README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: "\n## Quickstart against HighLevel\n"))
        let end = readme.range(of: "\n## ", range: start.upperBound..<readme.endIndex)?.lowerBound ?? readme.endIndex
        return readme[start.upperBound..<end]
    }

    /// The first inline command of the section that starts with `prefix`, as written.
    static func inlineCommand(_ prefix: String) throws -> String {
        let text = try section()
        let start = try #require(text.range(of: "`" + prefix), "README's quickstart has no `\(prefix)...`")
        let end = try #require(text.range(of: "`", range: start.upperBound..<text.endIndex))
        return String(text[text.index(after: start.lowerBound)..<end.lowerBound])
    }

    @Test func stepsFourToSixRunAsWrittenAgainstTheSimulator() async throws {
        let yaml = try Self.blocks("yaml")
        let shell = try Self.blocks("sh")
        #expect(shell.count >= 3)
        let serveCommand = try Self.inlineCommand("ghl-gateway serve")
        let explainCommand = try Self.inlineCommand("ghl-gateway policy explain")
        let publicURL = try #require(yaml[0].split(separator: "\n").first { $0.hasPrefix("public_url:") }?.split(separator: " ")[1])
        let simulatorConfiguration = SimulatorConfiguration(registeredRedirectURI: "\(publicURL)/oauth/callback")
        try await HighLevelSimulator.withRunning(simulatorConfiguration) { simulator, simulatorURL in
            let directory = TemporaryDirectory()
            // HighLevel is the simulator; the listeners take free ports and log their ports as JSON.
            directory.write(
                "gateway.yaml",
                yaml[0].replacingOccurrences(
                    of: "highlevel:\n", with: "highlevel:\n  api_base_url: \(simulatorURL)\n  marketplace_url: \(simulatorURL)\n")
                    + "listen: {proxy: \"127.0.0.1:0\", public: \"127.0.0.1:0\", admin: \"127.0.0.1:0\"}\nlogging: {level: info, format: json}\n")
            let keys = try await ChildProcess.run(ServeFixture.binary, ["keys", "new", "--client", "crm"])
            let keyLine = try #require(keys.text.split(separator: "\n").first { $0.hasPrefix("key: sha256:") })
            let key = try #require(keys.text.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("ghlgw_") })
            directory.write("policies/clients/crm.yaml", yaml[1].replacingOccurrences(of: "key: sha256:...", with: String(keyLine)))
            var environment = ProcessInfo.processInfo.environment
            environment["GHL_CLIENT_ID"] = simulatorConfiguration.clientId
            environment["GHL_CLIENT_SECRET"] = simulatorConfiguration.clientSecret
            environment["GHL_GATEWAY_ENCRYPTION_KEY"] = Data(repeating: 7, count: 32).base64EncodedString()
            environment["GHL_GATEWAY_ADMIN_TOKEN"] = "quickstart-admin-token"
            let inDirectory = "cd '\(directory.file(""))' && exec '\(ServeFixture.binary)' "

            // 4. Serve.
            let serve = ChildProcess("/bin/bash", ["-c", inDirectory + serveCommand.dropFirst("ghl-gateway ".count)], environment: environment)
            try serve.start()
            defer { serve.signal(SIGKILL) }
            for listener in ["proxy", "public", "admin"] {
                #expect(await serve.output(contains: "\"listener\":\"\(listener)\""), "\(serve.text)")
            }
            let gateway = ProcessClient(ports: ServeFixture.ports(serve.text))

            // 5. Install: the link, HighLevel's consent, the callback; then the installation is healthy.
            let marketplace = try #require(try await gateway.send(gateway.url("public", "/oauth/install")).location)
            let callback = try #require(try await gateway.send(marketplace).location)
            let landed = try await gateway.send(callback.replacingOccurrences(of: String(publicURL), with: gateway.url("public", "")))
            #expect(landed.status == 200)
            let health = try await gateway.send(
                gateway.url("admin", "/health/tokens"), headers: [("Authorization", "Bearer quickstart-admin-token")])
            #expect(health.status == 200)
            #expect(health.body.contains("\"status\":\"healthy\""), "\(health.body)")

            // 6. The call, and why it is allowed.
            let location = "locSim0001"
            let curl = try #require(shell.first { $0.hasPrefix("curl ") })
                .replacingOccurrences(of: "ghlgw_...", with: String(key))
                .replacingOccurrences(of: "GATEWAY-INTERNAL:8080", with: "127.0.0.1:\(gateway.ports["proxy"] ?? 0)")
                .replacingOccurrences(of: "CONTACT_ID", with: "abc").replacingOccurrences(of: "LOCATION_ID", with: location)
            let call = try await ChildProcess.run("/bin/bash", ["-c", "set -euo pipefail\n" + curl])
            #expect(call.status == 0, "\(call.text)")
            #expect(call.text.contains("\"owner\":\"location:\(location)\""), "\(call.text)")
            #expect(await simulator.state.calls.contains { $0.path == "/contacts/abc" && $0.owner == .location(location) })
            let explain = try await ChildProcess.run(
                "/bin/bash",
                ["-c", inDirectory + explainCommand.dropFirst("ghl-gateway ".count).replacingOccurrences(of: "LOCATION_ID", with: location)])
            #expect(explain.status == 0, "\(explain.text)")
            #expect(explain.text.contains("token: location:\(location)"), "\(explain.text)")
        }
    }
}
