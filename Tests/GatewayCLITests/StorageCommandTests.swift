import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

/// `ghl-gateway storage`: a backup of a running SQLite vault, its check, and the move to PostgreSQL.
@Suite("Storage commands", .load(.heavy))
struct StorageCommandTests {
    private func call(_ client: ProcessClient, _ fixture: ServeFixture) async throws -> Int {
        try await client.send(
            client.url("proxy", "/contacts/abc?locationId=locSim0001"), headers: [("Authorization", "Bearer \(fixture.clientKey)")]
        ).status
    }

    @Test func aRunningVaultIsBackedUpVerifiedAndMovedToPostgreSQL() async throws {
        let database = try await VaultBackend.postgres.database()
        try await HighLevelSimulator.withRunning { simulator, simulatorURL in
            let fixture = try ServeFixture(simulatorURL: simulatorURL, simulator: SimulatorConfiguration())
            let (serve, ports) = try await fixture.start()
            defer { serve.signal(SIGKILL) }
            let client = ProcessClient(ports: ports)
            try await client.install()
            #expect(try await call(client, fixture) == 200)

            // Online, while the gateway runs.
            let backup = fixture.directory.file("backup.sqlite")
            let made = try await CLITests.run("storage", "backup", "--config", fixture.configPath, "--to", backup)
            #expect(made.status == 0, "\(made.text)")
            #expect(made.text.contains("integrity: ok\n"))
            #expect(made.text.contains("tokens: 2\n"))
            #expect(made.text.contains("sealed values opened: 4\n"))
            let again = try await CLITests.run("storage", "backup", "--config", fixture.configPath, "--to", backup)
            #expect(again.status == 1)
            #expect(again.text.contains("exists; a backup never overwrites a file"))

            let verified = try await CLITests.run("storage", "verify", "--config", fixture.configPath, backup)
            #expect(verified.status == 0)
            #expect(verified.text.contains("installations: 3\n"))
            // Another key cannot open it, and says so without a secret.
            let otherKey = fixture.directory.write("other-key", Data(repeating: 7, count: 32).base64EncodedString())
            let otherConfig = fixture.directory.write(
                "other.yaml",
                try String(contentsOfFile: fixture.configPath, encoding: .utf8).replacingOccurrences(
                    of: "encryption_key: file:\(fixture.directory.file("key"))", with: "encryption_key: file:\(otherKey)"))
            let refused = try await CLITests.run("storage", "verify", "--config", otherConfig, backup)
            #expect(refused.status == 1)
            #expect(refused.text.contains("configure the old key under storage.previous_encryption_keys"))
            for output in [made.text, verified.text, refused.text] {
                for token in await simulator.state.everyIssuedToken { #expect(!output.contains(token)) }
            }

            // The move: the gateway stops, its vault is copied into PostgreSQL, a gateway on
            // PostgreSQL serves the same installation without a reinstall.
            serve.signal(SIGTERM)
            #expect(await serve.exit() == 0)
            let moved = try ServeFixture(simulatorURL: simulatorURL, simulator: SimulatorConfiguration(), database: database)
            let migrated = try await CLITests.run(
                "storage", "migrate-to-postgres", "--config", moved.configPath, "--sqlite", fixture.directory.file("gateway.sqlite"))
            #expect(migrated.status == 0, "\(migrated.text)")
            #expect(migrated.text.contains("tokens: 2 -> 2\n"))
            #expect(migrated.text.contains("sealed values opened: 4 -> 4\n"))
            let twice = try await CLITests.run(
                "storage", "migrate-to-postgres", "--config", moved.configPath, "--sqlite", fixture.directory.file("gateway.sqlite"))
            #expect(twice.status == 1)
            #expect(twice.text.contains("migrate into an empty database"))

            let codeExchanges = await simulator.state.codeExchanges
            let exchanges = await simulator.state.exchanges
            let (onPostgres, postgresPorts) = try await moved.start()
            defer { onPostgres.signal(SIGKILL) }
            #expect(try await call(ProcessClient(ports: postgresPorts), moved) == 200)
            #expect(await simulator.state.codeExchanges == codeExchanges)
            #expect(await simulator.state.exchanges == exchanges)
        }
    }
}
