import Foundation

/// The audit trail: append-only, each entry's hash chained to the one before, so an edited,
/// removed or inserted entry shows (`AuditChain`). Entries older than the retention are pruned
/// from the start of the chain; the first one left keeps the hash it followed.
package protocol AuditStore: Sendable {
    /// Appends `records` in order after the last entry, in one transaction (across replicas, one
    /// appender at a time, so the chain stays a line).
    func appendAudit(_ records: [AuditRecord]) async throws(VaultError)
    /// Entries matching `query`, oldest first.
    func auditEntries(_ query: AuditQuery) async throws(VaultError) -> [AuditEntry]
    /// Removes the entries before `before`; how many.
    func pruneAudit(before: Date) async throws(VaultError) -> Int
}
