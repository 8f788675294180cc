import ArgumentParser
import Foundation
import Logging
import TokenVault

struct StorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage", abstract: "Back up, verify and move the token vault (sealed values stay sealed).",
        subcommands: [Backup.self, Verify.self, MigrateToPostgres.self])

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A consistent copy of a running SQLite vault (SQLite's online backup), then verified.")
        @Option(help: "The gateway configuration (YAML).") var config: String
        @Option(help: "Where to write the copy (must not exist).") var to: String

        func run() async throws {
            let storage = try loadConfiguration(config).storage
            guard case .sqlite(let path) = storage.database else {
                throw failure("backup copies a SQLite vault; back PostgreSQL up with its own tools (pg_dump, your provider's snapshots)")
            }
            let vault = try await attempt { () async throws(VaultError) in
                try await SQLiteVault.open(path: path, keyring: try storage.keyring(), busyTimeout: storage.busyTimeoutSeconds)
            }
            do {
                try await vault.backup(to: to)
                try await vault.close()
            } catch {
                try? await vault.close()
                throw failure("\(error)")
            }
            let report = try await attempt { () async throws(VaultError) in try await SQLiteVault.verify(path: to, keyring: try storage.keyring()) }
            print("backed up \(path) to \(to)")
            for line in report.lines { print(line) }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Checks a SQLite vault file without changing it: integrity, rows, and that every sealed value opens with the configured keys.")
        @Option(help: "The gateway configuration (YAML) whose keys must open it.") var config: String
        @Argument(help: "The vault file (a backup, or the live one).") var path: String

        func run() async throws {
            let storage = try loadConfiguration(config).storage
            let report = try await attempt { () async throws(VaultError) in try await SQLiteVault.verify(path: path, keyring: try storage.keyring()) }
            for line in report.lines { print(line) }
            guard report.integrity == "ok" else { throw failure("\(path) is damaged: \(report.integrity ?? "")") }
        }
    }

    struct MigrateToPostgres: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate-to-postgres",
            abstract: "Copies a SQLite vault into the configured (empty) PostgreSQL database, checked by counts; no reinstall needed.")
        @Option(help: "The gateway configuration (YAML) naming storage.postgres_url.") var config: String
        @Option(help: "The SQLite vault to copy (stop the gateway using it first).") var sqlite: String

        func run() async throws {
            let storage = try loadConfiguration(config).storage
            guard case .postgres(let url) = storage.database else {
                throw failure("the configuration names no storage.postgres_url to migrate into")
            }
            let before = try await attempt { () async throws(VaultError) in try await SQLiteVault.verify(path: sqlite, keyring: try storage.keyring())
            }
            guard before.integrity == "ok" else { throw failure("\(sqlite) is damaged: \(before.integrity ?? "")") }
            let after = try await attempt { () async throws(VaultError) -> VaultReport in
                let source = try await SQLiteVault.open(path: sqlite, keyring: try storage.keyring())
                let export = try await source.export()
                try await source.close()
                let target = try await PostgresVault.open(url: url, keyring: try storage.keyring(), poolSize: 2, logger: Logger(label: "ghl-gateway"))
                let result: Result<VaultReport, VaultError>
                do {
                    try await target.importRows(export)
                    result = .success(try await target.report())
                } catch {
                    result = .failure(error as? VaultError ?? .database("\(error)"))
                }
                try? await target.close()
                return try result.get()
            }
            for table in VaultReport.tables {
                print("\(table): \(before.counts[table] ?? 0) -> \(after.counts[table] ?? 0)")
            }
            print("sealed values opened: \(before.sealedValues) -> \(after.sealedValues)")
            guard after.counts == before.counts, after.sealedValues == before.sealedValues else {
                throw failure("the copy in \(url) does not match \(sqlite)")
            }
            print("migrated \(sqlite) to \(url): set storage.postgres_url in every replica's configuration and start them")
        }
    }
}

/// Runs a vault operation, or exits 1 with its error.
private func attempt<T>(_ operation: () async throws(VaultError) -> T) async throws -> T {
    do {
        return try await operation()
    } catch {
        throw failure("\(error)")
    }
}

/// Prints `message` as an error; the exit status to throw.
private func failure(_ message: String) -> ExitCode {
    printError("error: \(message)")
    return ExitCode(1)
}
