import Foundation
import Logging
import PostgresNIO

/// The vault in PostgreSQL: one database shared by any number of gateway replicas.
///
/// Every write is a transaction that commits before the method returns (PostgreSQL's default
/// `synchronous_commit` makes that durable). Replicas coordinate through the database only:
/// renewal leases for refresh and exchange, claims (`FOR UPDATE SKIP LOCKED`) for webhook
/// deliveries, and `NOTIFY` on the `ghl_gateway_changes` channel whenever a token or installation
/// changes, so the other replicas drop their cached token at once.
package struct PostgresVault: TokenVault {
    let client: PostgresClient
    private let runner: Task<Void, Never>
    package let keyring: EncryptionKeyring
    let url: PostgresURL
    let logger: Logger
    /// Marks this process's own change notices, which it need not hear back.
    let instance = UUID().uuidString.prefix(8).lowercased()

    package var location: String { url.description }

    static let changeChannel = "ghl_gateway_changes"

    /// Connects (at most `poolSize` connections), migrates under an advisory lock so replicas
    /// started together migrate once, and checks that the keyring opens everything stored.
    package static func open(url: PostgresURL, keyring: EncryptionKeyring, poolSize: Int, logger: Logger) async throws(VaultError) -> PostgresVault {
        // The pool's own chatter (e.g. a lease asked for before `run` began) stays out of the log;
        // what fails reaches the caller as an error.
        var background = logger
        background.logLevel = .error
        let client = PostgresClient(configuration: try url.clientConfiguration(poolSize: poolSize), backgroundLogger: background)
        let runner = Task { await client.run() }
        let vault = PostgresVault(client: client, runner: runner, keyring: keyring, url: url, logger: logger)
        do {
            try await PostgresSchema.migrate(vault)
            try await vault.checkKeys()
        } catch {
            runner.cancel()
            throw error
        }
        return vault
    }

    private func checkKeys() async throws(VaultError) {
        let keyring = self.keyring
        try await transaction { connection in
            try await connection.query("LOCK TABLE vault_keys IN EXCLUSIVE MODE", logger: logger)
            let checks = try await Self.rows(connection.query(PostgresQuery(unsafeSQL: VaultQueries.keyChecks), logger: logger)).map {
                (keyId: $0.text("key_id") ?? "", value: $0.blob("check_value") ?? Data())
            }
            let sealedKeyIds = try await Self.rows(connection.query(PostgresQuery(unsafeSQL: VaultQueries.sealedKeyIds), logger: logger))
                .compactMap { $0.text("key_id") }
            if let check = try KeyCheck.verify(checks: checks, sealedKeyIds: sealedKeyIds, keyring: keyring) {
                try await connection.query(
                    "INSERT INTO vault_keys (key_id, check_value, added_at) VALUES (\(keyring.current.id), \(check), \(Date().timeIntervalSince1970))",
                    logger: logger)
            }
        }
    }

    package func ping() async throws(VaultError) {
        _ = try await read(within: .seconds(2)) { connection in try await connection.query("SELECT 1", logger: logger) }
    }

    package func close() async throws(VaultError) {
        runner.cancel()
        await runner.value
    }

    package func watchChanges(_ onChange: @escaping @Sendable (TokenOwner) -> Void) async throws(VaultError) {
        let own = instance + " "
        var failures = 0
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.changeChannel) { notifications in
                        failures = 0
                        for try await notification in notifications {
                            guard !notification.payload.hasPrefix(own) else { continue }
                            let owner = notification.payload.split(separator: " ").last.flatMap { text -> TokenOwner? in
                                let parts = text.split(separator: ":", maxSplits: 1)
                                return parts.count == 2 ? TokenOwner(kind: String(parts[0]), id: String(parts[1])) : nil
                            }
                            if let owner { onChange(owner) }
                        }
                    }
                }
            } catch {
                guard !Task.isCancelled else { return }
                failures += 1
                logger.warning(
                    "change feed interrupted; listening again",
                    metadata: [
                        "database": "\(location)", "error": "\(Self.describe(error))",
                    ])
                try? await Task.sleep(for: .milliseconds(min(5_000, 100 << min(failures, 6))))
            }
        }
    }

    // MARK: Database access

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// How long an operation may wait for the database: the pool waits for a connection as long
    /// as it is asked to, so an unreachable server would hold every caller.
    static let operationTimeout: Duration = .seconds(10)

    func transaction<T: Sendable>(
        within limit: Duration = operationTimeout, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(VaultError) -> T {
        let client = self.client
        let logger = self.logger
        return try await bounded(limit) { try await client.withTransaction(logger: logger) { try await body($0) } }
    }

    func read<T: Sendable>(
        within limit: Duration = operationTimeout, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(VaultError) -> T {
        let client = self.client
        return try await bounded(limit) { try await client.withConnection { try await body($0) } }
    }

    /// `operation`, or a `database` error once `limit` has passed (the operation is cancelled).
    private func bounded<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws(VaultError) -> T {
        let location = self.location
        return try await Self.mappingErrors {
            try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await operation() }
                group.addTask {
                    try await Task.sleep(for: limit)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw VaultError.database("no answer from \(location) within \(limit)")
                }
                return value
            }
        }
    }

    /// Announces, inside the writing transaction, that `owner`'s token or installation changed.
    func announce(_ owner: TokenOwner, on connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_notify(\(Self.changeChannel), \("\(instance) \(owner)"))", logger: logger)
    }

    static func rows(_ sequence: PostgresRowSequence) async throws -> [PostgresVaultRow] {
        try await sequence.collect().map(PostgresVaultRow.init)
    }

    /// Vault errors as they are; anything else as `database`, described without secrets.
    private static func mappingErrors<T>(_ operation: () async throws -> T) async throws(VaultError) -> T {
        do {
            return try await operation()
        } catch let error as VaultError {
            throw error
        } catch let error as PostgresTransactionError {
            // What the transaction's body threw, if that is why it rolled back.
            if let reason = error.closureError as? VaultError { throw reason }
            throw .database(describe(error.closureError ?? error.beginError ?? error.commitError ?? error))
        } catch {
            throw .database(describe(error))
        }
    }

    /// PostgresNIO hides its errors' details behind a generic text (they may quote data); this says
    /// what went wrong: the kind, the server's message, the network error (never a password).
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        var parts = ["\(error.code)"]
        if let message = error.serverInfo?[.message] { parts.append(message) }
        if let underlying = error.underlying { parts.append("\(underlying)") }
        return parts.joined(separator: ": ")
    }
}

/// A PostgreSQL result row as the vault reads rows.
struct PostgresVaultRow: VaultRow {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) {
        self.row = row.makeRandomAccess()
    }

    private func value<T: PostgresDecodable>(_ column: String, as type: T.Type) -> T? {
        guard row.contains(column), row[column].bytes != nil else { return nil }
        return try? row[column].decode(T.self)
    }

    func text(_ column: String) -> String? { value(column, as: String.self) }
    func real(_ column: String) -> Double? { value(column, as: Double.self) }
    func integer(_ column: String) -> Int? { value(column, as: Int.self) }
    func blob(_ column: String) -> Data? { value(column, as: Data.self) }
}
