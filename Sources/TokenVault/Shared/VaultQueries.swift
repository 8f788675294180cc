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
}
