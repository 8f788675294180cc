import Foundation
import Logging
import PostgresNIO
import Testing
import TokenVault

/// The two stores, for tests that must hold for both (`@Test(arguments: VaultBackend.allCases)`).
package enum VaultBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    package var testDescription: String { rawValue }

    /// A fresh, empty database of this kind (PostgreSQL: on `server`).
    package func database(on server: PostgresServer = .shared) async throws -> VaultDatabase {
        switch self {
        case .sqlite: VaultDatabase(backend: self, postgresURL: nil)
        case .postgres: VaultDatabase(backend: self, postgresURL: try await server.database())
        }
    }
}

/// One database of either store: opened as a vault (again and again, as a restart does), and
/// reached with raw SQL where a test must do what no vault method does (tamper with a row).
package struct VaultDatabase: Sendable {
    package let backend: VaultBackend
    private let directory = TemporaryDirectory()
    package let postgresURL: PostgresURL?

    init(backend: VaultBackend, postgresURL: PostgresURL?) {
        self.backend = backend
        self.postgresURL = postgresURL
    }

    package var sqlitePath: String { directory.file("vault.sqlite") }

    /// The `storage:` lines of a gateway configuration for this database.
    package var storageConfiguration: String {
        switch backend {
        case .sqlite: "sqlite_path: \(sqlitePath)"
        case .postgres:
            "postgres_url: file:\(directory.write("postgres-url", "postgres://postgres@127.0.0.1:\(postgresURL!.port)/\(postgresURL!.database)?sslmode=disable"))"
        }
    }

    package func open(_ keyring: EncryptionKeyring) async throws -> any TokenVault {
        switch backend {
        case .sqlite: try await SQLiteVault.open(path: sqlitePath, keyring: keyring)
        case .postgres: try await PostgresVault.open(url: postgresURL!, keyring: keyring, poolSize: 4, logger: Logger(label: "test-vault"))
        }
    }

    /// Replaces `old` with `new` (of the same length) in the audit trail's stored blocks, as
    /// someone editing the database would.
    package func replaceInAuditBlocks(_ old: String, with new: String) async throws {
        guard backend == .postgres else { return try TestDatabase(path: sqlitePath).replaceInAuditBlocks(old, with: new) }
        for line in try await strings("SELECT first_id || ':' || encode(entries, 'hex') FROM audit_blocks") {
            let (firstId, bytes) = try AuditBlockBytes.parse(line)
            try await execute(
                "UPDATE audit_blocks SET entries = decode('\(AuditBlockBytes.replacing(old, with: new, in: bytes))', 'hex') WHERE first_id = \(firstId)"
            )
        }
    }

    /// Runs one statement outside any vault.
    package func execute(_ sql: String) async throws {
        _ = try await strings(sql)
    }

    /// Runs one statement outside any vault; the first column of each row it returns, as text.
    package func strings(_ sql: String) async throws -> [String] {
        switch backend {
        case .sqlite:
            return try TestDatabase(path: sqlitePath).strings(sql)
        case .postgres:
            let url = postgresURL!
            let logger = Logger(label: "test-postgres")
            let connection = try await PostgresConnection.connect(
                configuration: .init(host: url.host, port: url.port, username: url.username, password: nil, database: url.database, tls: .disable),
                id: 1, logger: logger)
            do {
                var values: [String] = []
                for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                    values.append(row.first.map { String(buffer: $0.bytes ?? ByteBuffer()) } ?? "")
                }
                try await connection.close()
                return values
            } catch {
                try? await connection.close()
                throw error
            }
        }
    }
}
