import Foundation
import GRDB
import HighLevelOAuth
import HighLevelSimulator
import Testing

@testable import TokenVault

@Suite("Token broker against the simulator")
struct TokenBrokerTests {
    @Test func twoHundredConcurrentAsksOnAnExpiredTokenRefreshOnce() async throws {
        try await OAuthHarness.run { harness in
            let owner = try await harness.install()
            await harness.simulator.state.expireAccessTokens()
            try await harness.vault.write { db in try db.execute(sql: "UPDATE tokens SET expires_at = 0") }
            let before = try #require(try await harness.vault.token(for: owner))

            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<200 { group.addTask { try await harness.broker.accessToken(for: owner).token.revealed } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(await harness.simulator.state.refreshes == 1)
            #expect(tokens.count == 1)
            let after = try #require(try await harness.vault.token(for: owner))
            #expect(tokens.first == after.accessToken.revealed)
            #expect(after.record.version == before.record.version + 1)
            #expect(after.record.refreshStartedAt == nil)
            #expect(after.accessToken != before.accessToken)
        }
    }

    @Test func rotatedRefreshTokensAreNeverSentAgain() async throws {
        try await OAuthHarness.run { harness in
            let owner = try await harness.install()
            var previous = try #require(try await harness.vault.token(for: owner)?.refreshToken)
            for round in 1...3 {
                try await harness.broker.refresh(owner)
                let stored = try #require(try await harness.vault.token(for: owner))
                let current = try #require(stored.refreshToken)
                #expect(current != previous)
                let live = await harness.simulator.state.liveRefreshTokens
                #expect(live.contains(current.revealed))
                #expect(!live.contains(previous.revealed))
                #expect(await harness.simulator.state.refreshes == round)
                // The lineage's origin stays what it was (an install), so recovery knows it.
                #expect(stored.record.origin == .code)
                previous = current
            }
        }
    }

    @Test func invalidGrantMarksNeedsReinstallAndStopsAsking() async throws {
        try await OAuthHarness.run { harness in
            let owner = try await harness.install()
            await harness.simulator.state.failNextRefreshes(1, with: .invalidGrant)
            await #expect {
                try await harness.broker.refresh(owner)
            } throws: { error in
                if case .needsReinstall(owner) = error as? BrokerError { true } else { false }
            }
            let stored = try #require(try await harness.vault.token(for: owner))
            #expect(stored.record.state == .needsReinstall)
            #expect(try await harness.vault.installation(owner)?.status == .needsReinstall)
            await #expect(throws: BrokerError.self) { try await harness.broker.refresh(owner) }
            #expect(await harness.simulator.state.refreshes == 1)
        }
    }

    @Test func transientFailuresBackOffAndRecover() async throws {
        try await OAuthHarness.run { harness in
            let owner = try await harness.install()
            await harness.simulator.state.failNextRefreshes(2, with: .status(503))
            // The current token is still valid, so a failed refresh hands it out and records the failure.
            let first = try await harness.broker.refresh(owner)
            var stored = try #require(try await harness.vault.token(for: owner))
            #expect(first.version == 1)
            #expect(stored.record.state == .refreshFailing)
            #expect(stored.record.consecutiveFailures == 1)
            #expect(stored.record.lastError?.contains("503") == true)
            #expect(stored.record.nextAttemptAt != nil)

            // While backing off, nothing goes upstream.
            _ = try await harness.broker.refresh(owner)
            #expect(await harness.simulator.state.refreshes == 1)

            // Once the backoff has passed: one more failure, then success clears the failure state.
            try await harness.vault.write { db in try db.execute(sql: "UPDATE tokens SET next_attempt_at = NULL") }
            _ = try await harness.broker.refresh(owner)
            try await harness.vault.write { db in try db.execute(sql: "UPDATE tokens SET next_attempt_at = NULL") }
            let recovered = try await harness.broker.refresh(owner)
            stored = try #require(try await harness.vault.token(for: owner))
            #expect(await harness.simulator.state.refreshes == 3)
            #expect(recovered.version == 2)
            #expect(stored.record.state == .active)
            #expect(stored.record.consecutiveFailures == 0)
            #expect(stored.record.lastError == nil)
        }
    }

    @Test func anExpiredTokenDuringAnOutageIsUnavailable() async throws {
        try await OAuthHarness.run { harness in
            let owner = try await harness.install()
            try await harness.vault.write { db in try db.execute(sql: "UPDATE tokens SET expires_at = 0") }
            await harness.simulator.state.failNextRefreshes(1, with: .status(502))
            await #expect {
                try await harness.broker.accessToken(for: owner)
            } throws: { error in
                if case .unavailable(owner, _) = error as? BrokerError { true } else { false }
            }
        }
    }

    @Test func locationTokensAreExchangedOnceForManyConcurrentAsks() async throws {
        try await OAuthHarness.run { harness in
            try await harness.install()
            let location = TokenOwner.location("locSim0001")
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<100 { group.addTask { try await harness.broker.accessToken(for: location).token.revealed } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(await harness.simulator.state.exchanges == 1)
            #expect(tokens.count == 1)
            let stored = try #require(try await harness.vault.token(for: location))
            #expect(stored.record.origin == .exchange)
            #expect(stored.accessToken.revealed == tokens.first)
            #expect(stored.record.companyId == "cmpSim0001")
            #expect(stored.refreshToken != nil)
            // The exchanged token refreshes like any other.
            try await harness.broker.refresh(location)
            #expect(await harness.simulator.state.refreshes == 1)
            #expect(await harness.simulator.state.exchanges == 1)
        }
    }

    @Test func locationTokensWithoutRefreshTokenAreExchangedAgain() async throws {
        var configuration = SimulatorConfiguration()
        configuration.locationTokensHaveRefreshToken = false
        try await OAuthHarness.run(configuration) { harness in
            try await harness.install()
            let location = TokenOwner.location("locSim0002")
            let first = try await harness.broker.accessToken(for: location)
            #expect(try await harness.vault.token(for: location)?.refreshToken == nil)
            let second = try await harness.broker.refresh(location)
            #expect(second.token != first.token)
            #expect(second.version == first.version + 1)
            #expect(await harness.simulator.state.exchanges == 2)
            #expect(await harness.simulator.state.refreshes == 0)
        }
    }

    @Test func exchangeNeedsOAuthWriteAndAKnownLocation() async throws {
        try await OAuthHarness.run { harness in
            try await harness.install(scopes: ["contacts.readonly"])
            await #expect {
                try await harness.broker.accessToken(for: .location("locSim0001"))
            } throws: { error in
                if case .exchangeNotPermitted("locSim0001", "cmpSim0001") = error as? BrokerError { true } else { false }
            }
            await #expect {
                try await harness.broker.accessToken(for: .location("unknown"))
            } throws: { error in
                if case .notInstalled(.location("unknown")) = error as? BrokerError { true } else { false }
            }
            #expect(await harness.simulator.state.exchanges == 0)
        }
    }

    @Test func aReplacedTokenIsRefreshedOnlyOnceForManyRejectedRequests() async throws {
        try await OAuthHarness.run { harness in
            let owner = try await harness.install()
            let rejected = try await harness.broker.accessToken(for: owner)
            let renewed = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<20 { group.addTask { try await harness.broker.accessToken(replacing: rejected)?.version ?? -1 } }
                return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
            }
            #expect(renewed == [rejected.version + 1])
            #expect(await harness.simulator.state.refreshes == 1)
        }
    }

    /// HighLevel refusing every token must not make each call rotate the refresh token: after one
    /// forced renewal, a 401 to the renewed token within the interval renews nothing.
    @Test func aTokenRefusedSoonAfterAForcedRenewalIsNotRenewedAgain() async throws {
        let settings = TokenBroker.Settings(refreshMargin: 60, baseBackoff: 60, maxBackoff: 600, forcedRenewalInterval: .seconds(3_600))
        try await OAuthHarness.run(brokerSettings: settings) { harness in
            let owner = try await harness.install()
            var token = try await harness.broker.accessToken(for: owner)
            let renewed = try #require(try await harness.broker.accessToken(replacing: token))
            #expect(renewed.version == token.version + 1)
            token = renewed
            for _ in 0..<20 {
                #expect(try await harness.broker.accessToken(replacing: token) == nil)
            }
            #expect(await harness.simulator.state.refreshes == 1)
            // Other owners, and renewals that are not forced by a 401, are not held back.
            #expect(try await harness.broker.refresh(owner).version == token.version + 1)
            #expect(await harness.simulator.state.refreshes == 2)
        }
    }

    @Test func aForcedRenewalIsAllowedAgainAfterItsInterval() async throws {
        let settings = TokenBroker.Settings(refreshMargin: 60, baseBackoff: 60, maxBackoff: 600, forcedRenewalInterval: .zero)
        try await OAuthHarness.run(brokerSettings: settings) { harness in
            let owner = try await harness.install()
            var token = try await harness.broker.accessToken(for: owner)
            for round in 1...3 {
                token = try #require(try await harness.broker.accessToken(replacing: token))
                #expect(await harness.simulator.state.refreshes == round)
            }
        }
    }

    @Test func proactiveRefresherRenewsOnlyTokensNearExpiry() async throws {
        var configuration = SimulatorConfiguration()
        configuration.installer = .location(companyId: "cmpSim0001", locationId: "locSim0009")
        try await OAuthHarness.run(configuration) { harness in
            let owner = try await harness.install(scopes: ["contacts.readonly"])
            let refresher = ProactiveRefresher(
                broker: harness.broker, settings: .init(window: 600, jitter: 0, concurrency: 2), logger: .init(label: "test"))
            #expect(await refresher.runOnce().isEmpty)
            #expect(await harness.simulator.state.refreshes == 0)
            try await harness.vault.write { db in
                try db.execute(sql: "UPDATE tokens SET expires_at = ?", arguments: [Date().addingTimeInterval(300).timeIntervalSince1970])
            }
            #expect(await refresher.runOnce() == [owner])
            #expect(await harness.simulator.state.refreshes == 1)
            let stored = try #require(try await harness.vault.token(for: owner))
            #expect(stored.record.expiresAt.timeIntervalSinceNow > 80_000)
            #expect(await refresher.runOnce().isEmpty)
        }
    }

    @Test func aRotatedPairThatCannotBeStoredIsHeldAndStoredLater() async throws {
        try await OAuthHarness.run { harness in
            let owner = try await harness.install()
            let original = try #require(try await harness.vault.token(for: owner))
            try await harness.vault.write { db in
                try db.execute(sql: "CREATE TRIGGER full BEFORE INSERT ON tokens BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
            }
            let renewed = try await harness.broker.refresh(owner)
            #expect(renewed.token != original.accessToken)
            // The row still holds the old pair, marked as having a refresh in flight: explainable after a crash.
            let stuck = try #require(try await harness.vault.token(for: owner))
            #expect(stuck.record.version == original.record.version)
            #expect(stuck.record.refreshStartedAt != nil)

            // While the vault refuses writes, the in-memory pair is used; the dead refresh token is never sent.
            let again = try await harness.broker.refresh(owner)
            #expect(again.token == renewed.token)
            #expect(await harness.simulator.state.refreshes == 1)

            try await harness.vault.write { db in try db.execute(sql: "DROP TRIGGER full") }
            _ = try await harness.broker.refresh(owner, ifExpiringWithin: 0)
            let stored = try #require(try await harness.vault.token(for: owner))
            #expect(stored.accessToken == renewed.token)
            #expect(stored.record.version == original.record.version + 1)
            #expect(stored.record.refreshStartedAt == nil)
            #expect(await harness.simulator.state.liveRefreshTokens.contains(stored.refreshToken?.revealed ?? ""))
        }
    }

    @Test func aRevocationByAnotherProcessIsSeenOnceTheCacheLapses() async throws {
        try await OAuthHarness.run(brokerSettings: .init(refreshMargin: 60, baseBackoff: 60, maxBackoff: 600, cacheLifetime: .zero)) { harness in
            let owner = try await harness.install()
            _ = try await harness.broker.accessToken(for: owner)
            // Another process (the `tokens revoke` CLI) deletes the token behind this broker's back.
            try await harness.vault.uninstall(owner)
            await #expect {
                try await harness.broker.accessToken(for: owner)
            } throws: { error in
                if case .notInstalled(owner) = error as? BrokerError { true } else { false }
            }
        }
        try await OAuthHarness.run { harness in
            let owner = try await harness.install()
            let cached = try await harness.broker.accessToken(for: owner)
            try await harness.vault.uninstall(owner)
            // Within the cache lifetime (30 s by default) the copy in memory still serves.
            #expect(try await harness.broker.accessToken(for: owner).token == cached.token)
        }
    }
}
