import ArgumentParser
import Foundation
import Logging
import TokenVault

/// The audit trail's writer alone: records like a proxied request's, appended in batches (as
/// `AuditTrail` writes them) to a SQLite vault in a temporary directory, or to a PostgreSQL
/// database; time and records a second.
struct AuditBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Append N audit records in batches to a SQLite vault (or PostgreSQL): µs per record.")

    @Option(help: "Records to append.") var records = 100_000
    @Option(help: "Records per transaction (AuditTrail writes up to 5,000).") var batch = 5_000
    @Option(help: "A PostgreSQL URL (postgres://user@host:port/database) to append to instead of SQLite.") var postgres: String?

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ghl-bench-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyring = try EncryptionKeyring(currentBase64: EncryptionKeyring.generateKeyBase64(), previousBase64: [])
        let vault: any TokenVault =
            if let postgres {
                try await PostgresVault.open(url: PostgresURL(postgres), keyring: keyring, poolSize: 2, logger: Logger(label: "ghl-bench"))
            } else {
                try await SQLiteVault.open(path: directory.appendingPathComponent("audit.sqlite").path, keyring: keyring)
            }
        let batches = (0..<max(records / batch, 1)).map { index in (0..<batch).map { Self.record(index * batch + $0) } }
        let started = ContinuousClock.now
        for records in batches { try await vault.appendAudit(records) }
        let elapsed = ContinuousClock.now - started
        try await vault.close()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let count = Double(batches.count * batch)
        print(
            String(
                format: "audit trail: %.0f records in batches of %d: %.2f µs per record, %.0f records/s", count, batch, seconds * 1e6 / count,
                count / seconds))
    }

    private static func record(_ index: Int) -> AuditRecord {
        var record = AuditRecord(at: Date(), kind: .request, subject: "GET /contacts/:contactId", decision: "allow")
        record.requestId = "req_\(String(index, radix: 16))_0123456789abcdef"
        record.client = "bench"
        record.keyPrefix = "sha256:0123456789ab"
        record.location = "benchLocation1"
        record.company = "benchCompany"
        record.rule = "scope contacts.readonly (bench.yaml:4)"
        record.policyRevision = "0123456789ab"
        record.upstreamStatus = 200
        record.latencyMs = 0.512
        return record
    }
}
