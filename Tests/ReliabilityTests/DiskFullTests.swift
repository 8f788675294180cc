import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing
import TokenVault

/// A real full disk: the gateway's files on a 4 MiB tmpfs, the rest of it filled up. A refresh is
/// refused before it reaches HighLevel (its start cannot be recorded), so no rotated token can be
/// lost; calls go on with the current token; the refresh works once there is room. (A disk that
/// fills between the start and the result is `TokenBrokerTests.aRotatedPairThatCannotBeStored…`.)
@Suite("Disk full", .load(.heavy))
struct DiskFullTests {
    static let canMount: Bool = {
        let probe = NSTemporaryDirectory() + "ghl-tmpfs-probe-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", probe]) == 0 else { return false }
        return run("/bin/umount", [probe]) == 0
    }()

    static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        ChildProcess.exitStatus(tool, arguments)
    }

    @Test(.enabled(if: canMount, "cannot mount a tmpfs here (needs root)"))
    func aRefreshOnAFullDiskIsHeldAndStoredLater() async throws {
        let directory = TemporaryDirectory()
        #expect(Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", directory.path]) == 0)
        defer { _ = Self.run("/bin/umount", ["-l", directory.path]) }
        let client = TestClient("svc")
        try await GatewayHarness.run(directory: directory, clients: ["svc": client.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/a", key: client.key).status == 200)
            let before = try #require(try await harness.gateway.vault.token(for: .company("cmpSim0001")))

            // Fill the disk.
            let filler = directory.file("filler")
            #expect(FileManager.default.createFile(atPath: filler, contents: nil))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
            let block = Data(repeating: 0, count: 64 * 1024)
            while (try? handle.write(contentsOf: block)) != nil {}
            try? handle.close()

            let refused = try await harness.admin("POST", "/tokens/refresh?company=cmpSim0001")
            #expect(refused.status == 503, "\(refused.body)")
            #expect(refused.body.contains("\"code\":\"token_unavailable\""))
            #expect(await harness.simulator.state.refreshes == 0)
            // Calls go on with the current, still valid token.
            #expect(try await harness.proxy("GET", "/contacts/b", key: client.key).status == 200)

            // Room again: the refresh goes through and is stored.
            try FileManager.default.removeItem(atPath: filler)
            let renewed = try await harness.admin("POST", "/tokens/refresh?company=cmpSim0001")
            #expect(renewed.status == 200, "\(renewed.body)")
            #expect(await harness.simulator.state.refreshes == 1)
            let after = try #require(try await harness.gateway.vault.token(for: .company("cmpSim0001")))
            #expect(after.record.version == before.record.version + 1)
            #expect(await harness.simulator.state.liveRefreshTokens.contains(after.refreshToken?.revealed ?? ""))
        }
    }
}
