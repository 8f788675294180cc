import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

/// `ghl-gateway serve` as a process: JSON logs, SIGHUP reload, graceful SIGTERM.
@Suite("serve as a process")
struct ServeProcessTests {
    /// A port another process holds: one line naming the listener and the address, exit 2.
    @Test func aListenerWhosePortIsTakenIsNamedAndServeExitsTwo() async throws {
        let taken = try SilentListener()
        defer { taken.close() }
        let fixture = try ServeFixture(simulatorURL: "http://127.0.0.1:1", simulator: SimulatorConfiguration())
        let config = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
        try config.replacingOccurrences(of: #"proxy: "127.0.0.1:0""#, with: #"proxy: "127.0.0.1:\#(taken.port)""#)
            .write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
        let serve = try await ChildProcess.run(ServeFixture.binary, ["serve", "--config", fixture.configPath])
        #expect(serve.status == 2, "\(serve.text)")
        #expect(serve.text.contains("error: listen.proxy: cannot listen on 127.0.0.1:\(taken.port): Address already in use"), "\(serve.text)")
    }

    /// JSON logs carry numbers as numbers; a refused admin request is logged with a hash of what
    /// was presented, never the value.
    @Test func logLinesCarryNumbersAndRefusedAdminRequests() async throws {
        try await HighLevelSimulator.withRunning { _, simulatorURL in
            let fixture = try ServeFixture(simulatorURL: simulatorURL, simulator: SimulatorConfiguration())
            let (serve, ports) = try await fixture.start()
            defer { serve.signal(SIGKILL) }
            let client = ProcessClient(ports: ports)
            try await client.install()
            let auth = [("Authorization", "Bearer \(fixture.clientKey)")]
            #expect(try await client.send(client.url("proxy", "/contacts/a"), headers: auth).status == 200)
            #expect(await serve.output(contains: #""message":"request""#))
            let line = try #require(serve.text.split(separator: "\n").first { $0.contains(#""message":"request""#) })
            let fields = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(fields["status"] as? Int == 200, "\(line)")
            #expect(fields["latencyMs"] is Double || fields["latencyMs"] is Int, "\(line)")
            #expect(fields["upstreamStatus"] as? Int == 200, "\(line)")

            let guess = "not-the-admin-token-0123456789"
            let refused = try await client.send(client.url("admin", "/health/tokens"), headers: [("Authorization", "Bearer \(guess)")])
            #expect(refused.status == 401)
            #expect(await serve.output(contains: "admin request refused"))
            let refusal = try #require(serve.text.split(separator: "\n").first { $0.contains("admin request refused") })
            #expect(refusal.contains(#""path":"/health/tokens""#) && refusal.contains(#""presented":"sha256:"#), "\(refusal)")
            #expect(!serve.text.contains(guess))
        }
    }

    /// What `serve` decided is in the audit trail once it stops gracefully (the last second
    /// included); `audit verify` finds the chain whole, `audit export` prints it, and an edited
    /// entry is found.
    @Test func theAuditTrailSurvivesAGracefulStopAndVerifies() async throws {
        try await HighLevelSimulator.withRunning { _, simulatorURL in
            let fixture = try ServeFixture(simulatorURL: simulatorURL, simulator: SimulatorConfiguration())
            let (serve, ports) = try await fixture.start()
            let client = ProcessClient(ports: ports)
            try await client.install()
            for index in 0..<5 { #expect(try await client.callContacts(key: fixture.clientKey) == 200, "call \(index)") }
            serve.signal(SIGTERM)
            #expect(await serve.exit() == 0)
            let verify = try await ChildProcess.run(ServeFixture.binary, ["audit", "verify", "--config", fixture.configPath])
            #expect(verify.status == 0, "\(verify.text)")
            #expect(verify.text.contains("one chain from the start"), "\(verify.text)")
            let export = try await ChildProcess.run(ServeFixture.binary, ["audit", "export", "--config", fixture.configPath])
            let lines = export.text.split(separator: "\n").filter { $0.hasPrefix("{") }
            #expect(lines.filter { $0.contains(#""subject":"GET /contacts/:contactId""#) }.count == 5, "\(export.text)")
            #expect(!export.text.contains(fixture.clientKey))
            try TestDatabase(path: fixture.directory.file("gateway.sqlite")).replaceInAuditBlocks("allow", with: "deny!")
            let broken = try await ChildProcess.run(ServeFixture.binary, ["audit", "verify", "--config", fixture.configPath])
            #expect(broken.status == 1)
            #expect(broken.text.contains("broken: entry 2: its hash does not match its contents"), "\(broken.text)")
        }
    }

    @Test func servesReloadsOnSIGHUPAndShutsDownGracefully() async throws {
        let simulatorConfiguration = SimulatorConfiguration()
        try await HighLevelSimulator.withRunning(simulatorConfiguration) { simulator, simulatorURL in
            let fixture = try ServeFixture(simulatorURL: simulatorURL, simulator: simulatorConfiguration)
            let (serve, ports) = try await fixture.start()
            let client = ProcessClient(ports: ports)
            let auth = [("Authorization", "Bearer \(fixture.clientKey)")]
            do {
                try await client.install()
                #expect(try await client.send(client.url("proxy", "/contacts/a"), headers: auth).status == 200)

                // SIGHUP applies an edit at once (the file poll is an hour).
                fixture.writePolicy("contacts.write")
                serve.signal(SIGHUP)
                #expect(await serve.output(contains: "policies reloaded"))
                #expect(try await client.send(client.url("proxy", "/contacts/a"), headers: auth).status == 403)

                // SIGTERM while a call is in flight: the call completes, then the process exits cleanly.
                fixture.writePolicy("contacts.readonly")
                serve.signal(SIGHUP)
                #expect(await serve.output(contains: "policies reloaded", count: 2))
                let admitted = await simulator.state.count(.admittedCalls)
                await simulator.state.delayNextCalls(1, by: .milliseconds(800))
                async let slow = client.send(client.url("proxy", "/contacts/slow"), headers: auth)
                await simulator.state.wait(for: .admittedCalls, after: admitted)
                serve.signal(SIGTERM)
                #expect(try await slow.status == 200)
                #expect(await serve.exit() == 0)
            } catch {
                serve.signal(SIGKILL)
                _ = await serve.exit()
                throw error
            }

            let output = serve.text
            #expect(output.contains(#""message":"stopped""#))
            for line in output.split(separator: "\n") {
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["ts"] is String && object?["level"] is String && object?["message"] is String, "not a JSON log line: \(line)")
            }
            let secrets = await simulator.state.everyIssuedToken + [fixture.clientKey, simulatorConfiguration.clientSecret, ServeFixture.adminToken]
            for secret in secrets { #expect(!output.contains(secret), "a secret reached the logs") }
        }
    }
}
