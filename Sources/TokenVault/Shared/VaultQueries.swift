/// Statements both stores run as they are (no parameters, SQL both dialects read the same).
enum VaultQueries {
    /// Token rows joined with their installation's company: what `VaultRow.tokenRecord()` reads.
    /// Each store adds its own `WHERE` with its own placeholders.
    static let tokenRecords = """
        SELECT t.*, i.company_id AS company_id FROM tokens t
        JOIN installations i ON i.kind = t.kind AND i.owner_id = t.owner_id
        """

    /// Remembered events whose follow-up is not done, oldest first: what `VaultRow.followUp()` reads.
    static let pendingFollowUps = """
        SELECT webhook_id, follow_up, location_id, company_id FROM webhook_events
        WHERE follow_up IS NOT NULL ORDER BY received_at
        """

    /// The key check values (`key_id`, `check_value`), for `KeyCheck.verify`.
    static let keyChecks = "SELECT key_id, check_value FROM vault_keys"

    /// The key ids of every sealed value (`key_id`), for `KeyCheck.verify`.
    static let sealedKeyIds = "SELECT DISTINCT key_id FROM tokens UNION SELECT DISTINCT key_id FROM webhook_events WHERE key_id IS NOT NULL"

    /// The audit trail's table, in either dialect (its id and real-number column types).
    static func createAuditLog(id: String, real: String) -> String {
        """
        CREATE TABLE audit_log (
            id \(id),
            at \(real) NOT NULL,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            decision TEXT NOT NULL,
            request_id TEXT, trace_id TEXT, client TEXT, key_prefix TEXT, location TEXT, company TEXT, code TEXT,
            rule TEXT, policy_revision TEXT, upstream_status INTEGER, latency_ms \(real), detail TEXT,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )
        """
    }

    /// The columns an audit row is inserted with, in `AuditRecord.columns` order.
    static let auditColumns = [
        "at", "kind", "subject", "decision", "request_id", "trace_id", "client", "key_prefix", "location", "company", "code", "rule",
        "policy_revision", "upstream_status", "latency_ms", "detail", "previous_hash", "hash",
    ]

    /// Removes a prefix of the chain: every entry up to the last one older than the cutoff (the
    /// one parameter, written as `parameter`), so what is left still reads as one chain.
    static func pruneAudit(parameter: String) -> String {
        "DELETE FROM audit_log WHERE id <= (SELECT MAX(id) FROM audit_log WHERE at < \(parameter))"
    }
}
