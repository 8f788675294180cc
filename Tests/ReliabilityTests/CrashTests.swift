import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

/// `kill -9` around a refresh: HighLevel rotates the refresh token, the gateway dies before or after
/// storing the new pair. On restart the database is consistent and the token's state is explained.
@Suite("Crashes around a refresh", .load(.heavy))
struct CrashTests {
    @Test func killedBeforeTheRotatedPairIsStored() async throws {
        try await HighLevelSimulator.withRunning { simulator, simulatorURL in
            let fixture = try ServeFixture(simulatorURL: simulatorURL, simulator: SimulatorConfiguration())
            let (first, ports) = try await fixture.start()
            try await ProcessClient(ports: ports).install()
            // HighLevel takes its time; the gateway dies while it does.
            // HighLevel rotates as the process dies: the stored refresh token is now dead.
            #expect(await first.killDuringRefresh(of: "company=cmpSim0001", through: ProcessClient(ports: ports), simulator: simulator) == -SIGKILL)

            let (second, restartedPorts) = try await fixture.start()
            defer { second.signal(SIGKILL) }
            let client = ProcessClient(ports: restartedPorts)
            #expect(try TestDatabase(path: fixture.directory.file("gateway.sqlite")).integrityCheck() == "ok")
            let health = try await client.admin("GET", "/health/tokens")
            #expect(health.body.contains("\"status\":\"refresh_failing\""), "\(health.body)")
            #expect(health.body.contains("refresh interrupted at"))
            #expect(second.text.contains("a refresh was interrupted by a restart"))
            // The next refresh finds out what happened: HighLevel refuses the dead token.
            let retried = try await client.admin("POST", "/tokens/refresh?company=cmpSim0001")
            #expect(retried.status == 403)
            let after = try await client.admin("GET", "/health/tokens")
            #expect(after.body.contains("\"needs_reinstall\":1"))
        }
    }

    /// The same kill while a location's token (exchanged, then refreshed once) is refreshed: on
    /// restart it is exchanged again from the company's token, and the refresh token that HighLevel
    /// may have rotated is never presented.
    @Test func killedDuringALocationRefreshIsRecoveredByExchange() async throws {
        try await HighLevelSimulator.withRunning { simulator, simulatorURL in
            let fixture = try ServeFixture(simulatorURL: simulatorURL, simulator: SimulatorConfiguration())
            let (first, ports) = try await fixture.start()
            let client = ProcessClient(ports: ports)
            try await client.install()
            #expect(try await client.callContacts(key: fixture.clientKey) == 200)
            #expect(try await client.admin("POST", "/tokens/refresh?location=locSim0001").status == 200)
            #expect(await first.killDuringRefresh(of: "location=locSim0001", through: client, simulator: simulator) == -SIGKILL)

            let (second, restartedPorts) = try await fixture.start()
            defer { second.signal(SIGKILL) }
            let restarted = ProcessClient(ports: restartedPorts)
            let renewed = try await restarted.admin("POST", "/tokens/refresh?location=locSim0001")
            #expect(renewed.status == 200, "\(renewed.body)")
            #expect(await simulator.state.exchanges == 2)
            #expect(await simulator.state.refreshTokenReuses == 0)
            let health = try await restarted.admin("GET", "/health/tokens")
            #expect(health.body.contains("\"healthy\":2"), "\(health.body)")
            #expect(try await restarted.callContacts(key: fixture.clientKey) == 200)
        }
    }

    @Test func killedRightAfterTheRotatedPairIsStored() async throws {
        try await HighLevelSimulator.withRunning { simulator, simulatorURL in
            let fixture = try ServeFixture(simulatorURL: simulatorURL, simulator: SimulatorConfiguration())
            let (first, ports) = try await fixture.start()
            let client = ProcessClient(ports: ports)
            try await client.install()
            let refreshed = try await client.admin("POST", "/tokens/refresh?company=cmpSim0001")
            #expect(refreshed.status == 200)
            first.signal(SIGKILL)
            _ = await first.exit()

            let (second, restartedPorts) = try await fixture.start()
            defer { second.signal(SIGKILL) }
            let restarted = ProcessClient(ports: restartedPorts)
            #expect(try TestDatabase(path: fixture.directory.file("gateway.sqlite")).integrityCheck() == "ok")
            let health = try await restarted.admin("GET", "/health/tokens")
            #expect(health.body.contains("\"healthy\":1"), "\(health.body)")
            // The stored pair is the rotated one: a refresh with it works.
            #expect(try await restarted.admin("POST", "/tokens/refresh?company=cmpSim0001").status == 200)
            #expect(await simulator.state.refreshes == 2)
        }
    }
}
