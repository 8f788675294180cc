import AsyncHTTPClient
import Foundation
import GatewayPolicy
import GatewayTestSupport
import HighLevelSimulator
import NIOCore
import Testing

/// `ghl-gateway serve` as a process: JSON logs, SIGHUP reload, graceful SIGTERM.
@Suite("serve as a process")
struct ServeProcessTests {
    @Test func servesReloadsOnSIGHUPAndShutsDownGracefully() async throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("policies/clients"), withIntermediateDirectories: true)
        for file in ["highlevel-scopes.md", "catalog-overrides.yaml"] {
            try FileManager.default.copyItem(atPath: CLITests.root + "/policies/" + file, toPath: directory.file("policies/" + file))
        }
        let key = KeyDigest.generateKey()
        @Sendable func policy(_ scope: String) -> String {
            "client: svc\nkey: \(KeyDigest(key: key))\nlocations: [locSim0001]\nallow: [\(scope)]\n"
        }
        directory.write("policies/clients/svc.yaml", policy("contacts.readonly"))
        let simulatorConfiguration = SimulatorConfiguration()

        try await HighLevelSimulator.withRunning(simulatorConfiguration) { simulator, simulatorURL in
            let config = directory.write("gateway.yaml", """
                listen: {proxy: "127.0.0.1:0", public: "127.0.0.1:0", admin: "127.0.0.1:0"}
                public_url: http://gateway.test
                highlevel:
                  api_base_url: \(simulatorURL)
                  marketplace_url: \(simulatorURL)
                  client_id: \(simulatorConfiguration.clientId)
                  client_secret: file:\(directory.write("secret", simulatorConfiguration.clientSecret))
                  install_scopes: [contacts.readonly, contacts.write, oauth.write]
                storage:
                  sqlite_path: \(directory.file("gateway.sqlite"))
                  encryption_key: file:\(directory.write("key", Data(repeating: 3, count: 32).base64EncodedString()))
                admin_token: file:\(directory.write("admin", "admin-token-for-serve-test"))
                policies_dir: \(directory.file("policies"))
                policy_poll_seconds: 3600
                shutdown_grace_seconds: 10
                logging: {level: info, format: json}
                """)
            let serve = ChildProcess(CLITests.binary, ["serve", "--config", config])
            try serve.start()
            #expect(await serve.output(contains: #""listener":"proxy""#))
            #expect(await serve.output(contains: #""listener":"public""#))
            #expect(await serve.output(contains: #""listener":"admin""#))
            let ports = Self.ports(serve.text)
            let proxy = "http://127.0.0.1:\(ports["proxy"] ?? 0)"

            var clientConfiguration = HTTPClient.Configuration()
            clientConfiguration.redirectConfiguration = .disallow
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
            func get(_ url: String, _ headers: [(String, String)] = []) async throws -> (Int, String, String?) {
                var request = HTTPClientRequest(url: url)
                for (name, value) in headers { request.headers.add(name: name, value: value) }
                let response = try await http.execute(request, timeout: .seconds(15))
                let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                return (Int(response.status.code), body, response.headers.first(name: "location"))
            }
            do {
                // Install through the public listener, as a browser would.
                let install = try await get("http://127.0.0.1:\(ports["public"] ?? 0)/oauth/install")
                let consent = try await get(try #require(install.2))
                let callback = try #require(consent.2).replacingOccurrences(of: "http://gateway.test", with: "http://127.0.0.1:\(ports["public"] ?? 0)")
                #expect(try await get(callback).0 == 200)
                let auth = [("Authorization", "Bearer \(key)")]
                #expect(try await get(proxy + "/contacts/a", auth).0 == 200)
                #expect(try await get(proxy + "/contacts/", auth).0 == 200)

                // SIGHUP applies an edit at once (the file poll is an hour).
                directory.write("policies/clients/svc.yaml", policy("contacts.write"))
                serve.signal(SIGHUP)
                #expect(await serve.output(contains: "policies reloaded"))
                #expect(try await get(proxy + "/contacts/a", auth).0 == 403)

                // SIGTERM while a call is in flight: the call completes, then the process exits cleanly.
                directory.write("policies/clients/svc.yaml", policy("contacts.readonly"))
                serve.signal(SIGHUP)
                #expect(await serve.output(contains: "policies reloaded", count: 2))
                let admitted = await simulator.state.admittedCalls
                await simulator.state.delayNextCalls(1, by: .milliseconds(800))
                async let slow = get(proxy + "/contacts/slow", auth)
                await simulator.state.waitForAdmittedCalls(after: admitted)
                serve.signal(SIGTERM)
                let answer = try await slow
                #expect(answer.0 == 200)
                #expect(await serve.exit() == 0)
            } catch {
                serve.signal(SIGKILL)
                _ = await serve.exit()
                try? await http.shutdown()
                throw error
            }
            try await http.shutdown()

            let output = serve.text
            #expect(output.contains(#""message":"stopped""#))
            for line in output.split(separator: "\n") {
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["ts"] is String && object?["level"] is String && object?["message"] is String, "not a JSON log line: \(line)")
            }
            for secret in await simulator.state.everyIssuedToken + [key, simulatorConfiguration.clientSecret, "admin-token-for-serve-test"] {
                #expect(!output.contains(secret), "a secret reached the logs")
            }
        }
    }

    /// The listeners' ports from the `listening` log lines.
    static func ports(_ output: String) -> [String: Int] {
        var ports: [String: Int] = [:]
        for line in output.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["message"] as? String == "listening", let name = object["listener"] as? String,
                let port = (object["port"] as? String).flatMap(Int.init)
            else { continue }
            ports[name] = port
        }
        return ports
    }
}
