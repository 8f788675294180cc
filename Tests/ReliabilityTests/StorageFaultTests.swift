import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing
import TokenVault

@Suite("Storage faults")
struct StorageFaultTests {
    static let client = TestClient("svc")
    static let clients = ["svc": client.policy(allow: ["contacts.readonly"])]

    @Test func aBusyDatabaseFailsCleanlyAndRecovers() async throws {
        try await GatewayHarness.run(clients: Self.clients, busyTimeoutSeconds: 0.3) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/a", key: Self.client.key).status == 200)
            let database = try harness.database()
            // Another process holds the write lock: a refresh cannot store its result.
            let refreshed = try await database.holdingWriteLock {
                try await harness.admin("POST", "/tokens/refresh?company=cmpSim0001")
            }
            #expect(refreshed.status == 503)
            #expect(refreshed.body.contains("\"code\":\"token_unavailable\""))
            // Cached tokens keep serving while the lock is held, and everything works once it is gone.
            #expect(try await harness.proxy("GET", "/contacts/b", key: Self.client.key).status == 200)
            let after = try await harness.admin("POST", "/tokens/refresh?company=cmpSim0001")
            #expect(after.status == 200)
            let ready = try await harness.admin("GET", "/readyz", token: nil)
            #expect(ready.status == 200)
        }
    }

    @Test func anInterruptedRefreshIsExplainedAfterARestart() async throws {
        let directory = TemporaryDirectory()
        try await GatewayHarness.run(directory: directory, clients: Self.clients) { harness in
            try await harness.install()
            // The state a kill between "refresh started" and "result stored" leaves behind.
            try await harness.gateway.vault.markRefreshStarted(.company("cmpSim0001"), version: 1)
        }
        try await GatewayHarness.run(directory: directory, clients: Self.clients) { harness in
            let stored = try #require(try await harness.gateway.vault.token(for: .company("cmpSim0001")))
            // The mark stays until a renewal acts on it (a location would be exchanged again).
            #expect(stored.record.refreshStartedAt != nil)
            #expect(stored.record.state == .refreshFailing)
            #expect(stored.record.lastError?.hasPrefix("refresh interrupted at ") == true)
            let health = try await harness.admin("GET", "/health/tokens")
            #expect(health.body.contains("refresh interrupted at"))
            #expect(harness.logs.text.contains("a refresh was interrupted by a restart"))
        }
    }
}
