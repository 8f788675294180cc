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

    /// The audit trail's blocks (`AuditBlock`), in either dialect (its integer, real-number and
    /// byte-string column types). Entries before the blocks stay in `audit_log`.
    static func createAuditBlocks(integer: String, real: String, bytes: String) -> String {
        """
        CREATE TABLE audit_blocks (
            first_id \(integer) PRIMARY KEY,
            last_id \(integer) NOT NULL,
            previous_hash TEXT NOT NULL,
            last_hash TEXT NOT NULL,
            earliest \(real) NOT NULL,
            latest \(real) NOT NULL,
            entries \(bytes) NOT NULL
        )
        """
    }

    /// The chain's end as blocks hold it (`last_id`, `last_hash`).
    static let lastAuditBlock = "SELECT last_id, last_hash FROM audit_blocks ORDER BY first_id DESC LIMIT 1"

    /// The chain's end as rows from before the blocks hold it (`id`, `hash`).
    static let lastAuditRow = "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1"

    /// Blocks holding entries after an id (the first parameter) and, with `since`, entries as
    /// late as a time (the second), oldest first; parameters written `$1`/`$2` or `?`.
    static func auditBlocks(after: String, since: String?, limit: Int) -> String {
        "SELECT * FROM audit_blocks WHERE last_id > \(after)\(since.map { " AND latest >= \($0)" } ?? "") ORDER BY first_id LIMIT \(limit)"
    }

    /// Removes the blocks up to the last one whose entries are all older than the cutoff (the one
    /// parameter); the newest block stays, so the chain and the ids go on from it.
    static func pruneAuditBlocks(parameter: String) -> String {
        """
        DELETE FROM audit_blocks WHERE first_id <= (SELECT MAX(first_id) FROM audit_blocks WHERE latest < \(parameter)) \
        AND first_id < (SELECT MAX(first_id) FROM audit_blocks) RETURNING last_id - first_id + 1 AS entries
        """
    }

    /// Once blocks were pruned, the rows from before the blocks, which precede them in the chain.
    static let pruneAuditRowsBeforeBlocks = "DELETE FROM audit_log WHERE id < (SELECT MIN(first_id) FROM audit_blocks)"

    /// Removes a prefix of the chain: every entry up to the last one older than the cutoff (the
    /// one parameter, written as `parameter`), so what is left still reads as one chain.
    static func pruneAudit(parameter: String) -> String {
        "DELETE FROM audit_log WHERE id <= (SELECT MAX(id) FROM audit_log WHERE at < \(parameter))"
    }
}
