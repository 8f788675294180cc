import Foundation
import GatewayTestSupport
import Testing

/// A short run of the randomized crash campaign on each store (`CrashCampaign`); `scripts/crash.sh
/// KILLS` runs a long one. `GHL_CRASH_KILLS` and `GHL_CRASH_SEED` set the number of kills per
/// store and the seed (a failure prints its seed, so it can be run again).
@Suite("Randomized kill -9 campaign", .load(.heavy))
struct CrashCampaignTests {
    static let kills = ProcessInfo.processInfo.environment["GHL_CRASH_KILLS"].flatMap(Int.init) ?? 5
    static let seed = ProcessInfo.processInfo.environment["GHL_CRASH_SEED"].flatMap(UInt64.init) ?? 2_512_06

    @Test(.timeLimit(.minutes(60)), arguments: [1, 3])
    func nothingIsLostWhateverMomentAProcessDies(replicas: Int) async throws {
        let report = try await CrashCampaign(replicas: replicas, kills: Self.kills, seed: Self.seed).run()
        print(report)
        #expect(report.kills.values.reduce(0, +) == Self.kills)
        #expect(report.unhealthyLocations.isEmpty, "seed \(Self.seed): \(report)")
        #expect(report.refreshTokenReuses == 0, "seed \(Self.seed): \(report)")
        #expect(report.eventsDelivered == report.eventsAcknowledged, "seed \(Self.seed): \(report)")
        #expect(report.databaseProblems.isEmpty, "seed \(Self.seed): \(report.databaseProblems)")
    }
}
