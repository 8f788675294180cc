import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

/// `ghl-gateway serve` as a process: JSON logs, SIGHUP reload, graceful SIGTERM.
@Suite("serve as a process")
struct ServeProcessTests {
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
