import Foundation
import GRDB

/// Single-use OAuth `state` values and authorization codes for the install flow, by hash.
extension SQLiteVault {
    package func insertOAuthState(hash: String, expiresAt: Date, now: Date) async throws(VaultError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM oauth_states WHERE expires_at <= ?", arguments: [now.timeIntervalSince1970])
            try db.execute(
                sql: "INSERT INTO oauth_states (state_hash, expires_at) VALUES (?, ?)", arguments: [hash, expiresAt.timeIntervalSince1970])
        }
    }

    package func consumeOAuthState(hash: String, now: Date) async throws(VaultError) -> Bool {
        try await write { db in
            let expiresAt = try Double.fetchOne(db, sql: "SELECT expires_at FROM oauth_states WHERE state_hash = ?", arguments: [hash])
            try db.execute(sql: "DELETE FROM oauth_states WHERE state_hash = ?", arguments: [hash])
            guard let expiresAt else { return false }
            return expiresAt > now.timeIntervalSince1970
        }
    }

    package func claimAuthorizationCode(hash: String, now: Date, purgeBefore: Date) async throws(VaultError) -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM oauth_codes WHERE claimed_at < ?", arguments: [purgeBefore.timeIntervalSince1970])
            try db.execute(
                sql: "INSERT OR IGNORE INTO oauth_codes (code_hash, claimed_at) VALUES (?, ?)", arguments: [hash, now.timeIntervalSince1970])
            return db.changesCount == 1
        }
    }

    package func releaseAuthorizationCode(hash: String) async throws(VaultError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM oauth_codes WHERE code_hash = ?", arguments: [hash])
        }
    }
}
