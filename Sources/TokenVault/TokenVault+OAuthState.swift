import Crypto
import Foundation
import GRDB

/// Single-use OAuth `state` values and authorization codes for the install flow. Only hashes are stored.
extension TokenVault {
    /// Creates a random state valid for `lifetime`; expired states are purged on the way.
    package func createOAuthState(lifetime: TimeInterval = 600, now: Date = Date()) async throws(VaultError) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let state = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let hash = Self.hash(state)
        try await write { db in
            try db.execute(sql: "DELETE FROM oauth_states WHERE expires_at <= ?", arguments: [now.timeIntervalSince1970])
            try db.execute(
                sql: "INSERT INTO oauth_states (state_hash, expires_at) VALUES (?, ?)",
                arguments: [hash, now.addingTimeInterval(lifetime).timeIntervalSince1970])
        }
        return state
    }

    /// Consumes a state: true exactly once for a state that exists and has not expired. An expired
    /// state is deleted too, so it can never be tried again.
    package func consumeOAuthState(_ state: String, now: Date = Date()) async throws(VaultError) -> Bool {
        let hash = Self.hash(state)
        return try await write { db in
            let expiresAt = try Double.fetchOne(
                db, sql: "SELECT expires_at FROM oauth_states WHERE state_hash = ?", arguments: [hash])
            try db.execute(sql: "DELETE FROM oauth_states WHERE state_hash = ?", arguments: [hash])
            guard let expiresAt else { return false }
            return expiresAt > now.timeIntervalSince1970
        }
    }

    /// Claims an authorization code for its one exchange: true the first time the code is seen within
    /// `retention`, so a replayed code never reaches HighLevel's token endpoint again. Older claims
    /// are purged on the way (HighLevel's codes live minutes).
    package func claimAuthorizationCode(_ code: String, retention: TimeInterval = 86_400, now: Date = Date()) async throws(VaultError) -> Bool {
        let hash = Self.hash(code)
        return try await write { db in
            try db.execute(
                sql: "DELETE FROM oauth_codes WHERE claimed_at < ?", arguments: [now.addingTimeInterval(-retention).timeIntervalSince1970])
            try db.execute(
                sql: "INSERT OR IGNORE INTO oauth_codes (code_hash, claimed_at) VALUES (?, ?)",
                arguments: [hash, now.timeIntervalSince1970])
            return db.changesCount == 1
        }
    }

    /// Gives back a claim whose exchange never reached a verdict from HighLevel (a timeout, a 5xx),
    /// so the admin can retry the same callback.
    package func releaseAuthorizationCode(_ code: String) async throws(VaultError) {
        let hash = Self.hash(code)
        try await write { db in
            try db.execute(sql: "DELETE FROM oauth_codes WHERE code_hash = ?", arguments: [hash])
        }
    }

    private static func hash(_ state: String) -> String {
        SHA256.hash(data: Data(state.utf8)).hexString
    }
}
