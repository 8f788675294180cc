import Foundation
import GRDB
import HighLevelOAuth
import HighLevelSimulator
import Testing

@testable import TokenVault

/// A location's token whose refresh token may be dead is obtained again from its company's, never
/// presented with that refresh token; `needs_reinstall` only when no exchange can help.
@Suite("Token recovery by exchange")
struct TokenRecoveryTests {
    static let location = TokenOwner.location("locSim0001")

    /// An installed company and its first location's token, exchanged and then refreshed once (so
    /// the row has been rewritten by a refresh, as in production).
    static func refreshedLocation(_ harness: OAuthHarness) async throws -> StoredToken {
        try await harness.install()
        _ = try await harness.broker.accessToken(for: location)
        try await harness.broker.refresh(location)
        let stored = try #require(try await harness.vault.token(for: location))
        #expect(stored.record.origin == .exchange, "the lineage's origin survives a refresh")
        return stored
    }

    @Test func aRefreshCutOffWhileHighLevelRotatedIsRecoveredByExchange() async throws {
        try await OAuthHarness.run { harness in
            let stored = try await Self.refreshedLocation(harness)
            // The process marked the refresh, HighLevel rotated the token, the answer never arrived.
            try await harness.vault.markRefreshStarted(Self.location, version: stored.record.version)
            _ = try await harness.client.refresh(try #require(stored.refreshToken), userType: "Location")
            // The restart notes it, and keeps the mark for the renewal to act on.
            #expect(try await harness.vault.noteInterruptedRefreshes() == [Self.location])
            #expect(try await harness.vault.token(for: Self.location)?.record.refreshStartedAt != nil)

            let refreshes = await harness.simulator.state.refreshes
            let renewed = try await harness.broker.refresh(Self.location)
            #expect(await harness.simulator.state.exchanges == 2)
            #expect(await harness.simulator.state.refreshes == refreshes, "the possibly dead refresh token is not presented")
            #expect(await harness.simulator.state.refreshTokenReuses == 0)
            let after = try #require(try await harness.vault.token(for: Self.location))
            #expect(after.record.state == .active && after.record.refreshStartedAt == nil)
            #expect(after.accessToken == renewed.token)
        }
    }

    @Test func aRefusedRefreshTokenOfALocationIsExchangedAgain() async throws {
        try await OAuthHarness.run { harness in
            _ = try await Self.refreshedLocation(harness)
            await harness.simulator.state.failNextRefreshes(1, with: .invalidGrant)
            let renewed = try await harness.broker.refresh(Self.location)
            #expect(await harness.simulator.state.exchanges == 2)
            let after = try #require(try await harness.vault.token(for: Self.location))
            #expect(after.record.state == .active && after.accessToken == renewed.token)
            #expect(try await harness.vault.installation(Self.location)?.status != .needsReinstall)
        }
    }

    @Test func aTransientFailureKeepsTheMarkSoTheNextRenewalExchanges() async throws {
        try await OAuthHarness.run { harness in
            _ = try await Self.refreshedLocation(harness)
            // HighLevel fails (or the answer is lost): whether it rotated is unknown.
            await harness.simulator.state.failNextRefreshes(1, with: .status(503))
            _ = try await harness.broker.refresh(Self.location)
            let failed = try #require(try await harness.vault.token(for: Self.location))
            #expect(failed.record.state == .refreshFailing && failed.record.refreshStartedAt != nil)

            try await harness.vault.write { db in try db.execute(sql: "UPDATE tokens SET next_attempt_at = NULL") }
            let refreshes = await harness.simulator.state.refreshes
            _ = try await harness.broker.refresh(Self.location)
            #expect(await harness.simulator.state.refreshes == refreshes)
            #expect(await harness.simulator.state.exchanges == 2)
            #expect(try await harness.vault.token(for: Self.location)?.record.state == .active)
        }
    }

    @Test func withoutACompanyTokenARefusedLocationNeedsReinstall() async throws {
        try await OAuthHarness.run { harness in
            _ = try await Self.refreshedLocation(harness)
            // No second copy: the company's token is gone.
            try await harness.vault.write { db in try db.execute(sql: "DELETE FROM tokens WHERE kind = 'company'") }
            await harness.broker.forget(.company("cmpSim0001"))
            await harness.simulator.state.failNextRefreshes(1, with: .invalidGrant)
            await #expect {
                try await harness.broker.refresh(Self.location)
            } throws: { error in
                if case .needsReinstall(Self.location) = error as? BrokerError { true } else { false }
            }
            #expect(await harness.simulator.state.exchanges == 1)
            #expect(try await harness.vault.token(for: Self.location)?.record.state == .needsReinstall)
        }
    }

    /// An operator's refresh renews even while a look for a valid token is under way for the same
    /// owner, instead of taking that look's answer (which need not be a new token).
    @Test func aForcedRefreshIsNotAnsweredByALookUnderWay() async throws {
        try await OAuthHarness.run { harness in
            let owner = try await harness.install()
            try await harness.vault.write { db in
                try db.execute(sql: "UPDATE tokens SET expires_at = ?", arguments: [Date().addingTimeInterval(30).timeIntervalSince1970])
            }
            await harness.simulator.state.delayNextRefreshes(1, by: .milliseconds(300))
            async let look = harness.broker.accessToken(for: owner)
            await harness.simulator.state.wait(for: .receivedRefreshes, after: 0)
            let forced = try await harness.broker.refresh(owner)
            let looked = try await look
            #expect(await harness.simulator.state.refreshes == 2)
            #expect(forced.version == looked.version + 1)
        }
    }

    /// Another process holds the renewal lease (it is renewing): a token renewed only because it
    /// nears expiry is served while it is valid, instead of waiting for that process.
    @Test func aValidTokenIsServedWhileAnotherProcessRenewsIt() async throws {
        let settings = TokenBroker.Settings(refreshMargin: 300, leaseWait: .seconds(30), leasePoll: .milliseconds(50))
        try await OAuthHarness.run(brokerSettings: settings) { harness in
            let owner = try await harness.install()
            try await harness.vault.write { db in
                try db.execute(sql: "UPDATE tokens SET expires_at = ?", arguments: [Date().addingTimeInterval(120).timeIntervalSince1970])
            }
            let now = Date()
            #expect(try await harness.vault.acquireRenewalLease(owner, holder: "other", until: now.addingTimeInterval(60), now: now))
            let started = ContinuousClock.now
            let token = try await harness.broker.accessToken(for: owner)
            #expect(token.version == 1)
            #expect(ContinuousClock.now - started < .seconds(10), "answered without waiting out the lease")
            #expect(await harness.simulator.state.refreshes == 0)

            // An expired token cannot be served: the caller waits for the other process, then gives up.
            try await harness.vault.write { db in try db.execute(sql: "UPDATE tokens SET expires_at = 0") }
            harness.broker.tokenChanged(owner)
            let impatient = TokenBroker(
                vault: harness.vault, client: harness.client,
                settings: .init(refreshMargin: 300, leaseWait: .milliseconds(200), leasePoll: .milliseconds(50)), logger: .init(label: "test"))
            await #expect {
                try await impatient.accessToken(for: owner)
            } throws: { error in
                if case .unavailable(owner, _) = error as? BrokerError { true } else { false }
            }
        }
    }
}
