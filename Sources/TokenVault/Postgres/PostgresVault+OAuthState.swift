import Foundation
import PostgresNIO

/// Single-use OAuth `state` values and authorization codes, by hash: one row, so an install
/// started on one replica completes on any other, and a state or code is used once across all.
extension PostgresVault {
    package func insertOAuthState(hash: String, expiresAt: Date, now: Date) async throws(VaultError) {
        try await transaction { connection in
            try await connection.query("DELETE FROM oauth_states WHERE expires_at <= \(now.timeIntervalSince1970)", logger: logger)
            try await connection.query(
                "INSERT INTO oauth_states (state_hash, expires_at) VALUES (\(hash), \(expiresAt.timeIntervalSince1970))", logger: logger)
        }
    }

    package func consumeOAuthState(hash: String, now: Date) async throws(VaultError) -> Bool {
        try await transaction { connection in
            let expiresAt = try await Self.rows(
                connection.query("DELETE FROM oauth_states WHERE state_hash = \(hash) RETURNING expires_at", logger: logger)
            ).first?.real("expires_at")
            guard let expiresAt else { return false }
            return expiresAt > now.timeIntervalSince1970
        }
    }

    package func claimAuthorizationCode(hash: String, now: Date, purgeBefore: Date) async throws(VaultError) -> Bool {
        try await transaction { connection in
            try await connection.query("DELETE FROM oauth_codes WHERE claimed_at < \(purgeBefore.timeIntervalSince1970)", logger: logger)
            return try await !Self.rows(
                connection.query(
                    """
                    INSERT INTO oauth_codes (code_hash, claimed_at) VALUES (\(hash), \(now.timeIntervalSince1970))
                    ON CONFLICT (code_hash) DO NOTHING RETURNING code_hash
                    """, logger: logger)
            ).isEmpty
        }
    }

    package func releaseAuthorizationCode(hash: String) async throws(VaultError) {
        try await transaction { connection in
            try await connection.query("DELETE FROM oauth_codes WHERE code_hash = \(hash)", logger: logger)
        }
    }
}
