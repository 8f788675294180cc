import Foundation
import GatewaySandbox
import GatewayTestSupport
import HighLevelSimulator
import Testing
import TokenVault

/// A bounded soak on loopback: clients mixing allowed, denied and refresh-triggering calls while
/// tokens expire and policies reload. Every request is answered, the gateway itself answers no 5xx,
/// each expiry costs exactly one refresh, and memory stays flat.
@Suite("Soak")
struct SoakTests {
    static let clients = 8
    static let duration: Duration = .seconds(4)
    static let expiries = 4

    @Test(.load(.timed)) func aMixedLoadWhileTokensExpireAndPoliciesReload() async throws {
        let client = TestClient("svc")
        let policy = client.policy(locations: ["locSim0001", "locSim0002"], allow: ["contacts.readonly"])
        try await GatewayHarness.run(clients: ["svc": policy]) { harness in
            try await harness.install()
            // Warm both location tokens (two exchanges), then measure from a steady state.
            for location in ["locSim0001", "locSim0002"] {
                #expect(try await harness.proxy("GET", "/contacts/w?locationId=\(location)", key: client.key).status == 200)
            }
            let residentBefore = Self.residentBytes()
            let refreshesBefore = await harness.simulator.state.refreshes
            let deadline = ContinuousClock.now + Self.duration

            let statuses = try await withThrowingTaskGroup(of: [Int: Int].self) { group in
                for worker in 0..<Self.clients {
                    group.addTask {
                        var counts: [Int: Int] = [:]
                        var index = 0
                        while ContinuousClock.now < deadline, index < 5_000 {
                            index += 1
                            let (path, key) =
                                switch index % 4 {
                                case 0: ("/contacts/c\(index)?locationId=locSim0002", client.key)
                                case 1: ("/contacts/c\(index)?locationId=locSim0001", client.key)
                                case 2: ("/invoices/i\(index)?locationId=locSim0001", client.key)
                                default: ("/contacts/c\(index)?locationId=locSim0001", worker % 2 == 0 ? client.key : "ghlgw_unknown")
                                }
                            let answer = try await harness.proxy("GET", path, key: key)
                            counts[answer.status, default: 0] += 1
                        }
                        return counts
                    }
                }
                group.addTask {
                    // Chaos: tokens expire at HighLevel (the next calls get 401 → one refresh each), policies reload.
                    for round in 0..<Self.expiries {
                        try await Task.sleep(for: Self.duration / (Self.expiries + 1))
                        let owner = TokenOwner.location(round % 2 == 0 ? "locSim0001" : "locSim0002")
                        try await harness.gateway.vault.expire(owner)
                        await harness.gateway.broker.forget(owner)
                        harness.writeClient("svc", policy + "\ndescription: reload \(round)\n")
                        harness.gateway.policies.reload()
                    }
                    return [:]
                }
                return try await group.reduce(into: [Int: Int]()) { total, counts in total.merge(counts) { $0 + $1 } }
            }
            let total = statuses.values.reduce(0, +)
            let refreshes = await harness.simulator.state.refreshes - refreshesBefore
            let growth = Self.residentBytes() - residentBefore
            print(
                "soak: \(total) requests from \(Self.clients) clients in \(Self.duration): \(statuses.sorted { $0.key < $1.key }), refreshes \(refreshes) for \(Self.expiries) expiries, RSS growth \(growth / 1024) KiB"
            )
            #expect(total > 200)
            #expect(Set(statuses.keys).isSubset(of: [200, 401, 403]), "\(statuses)")
            #expect((statuses[200] ?? 0) > 0 && (statuses[403] ?? 0) > 0 && (statuses[401] ?? 0) > 0)
            #expect(refreshes == Self.expiries)
            #expect((harness.gateway.policies.status.reloads["applied"] ?? 0) >= Self.expiries)
            #expect(growth < 48 * 1024 * 1024, "resident memory grew by \(growth / 1_048_576) MiB")
        }
    }

    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        return (statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
