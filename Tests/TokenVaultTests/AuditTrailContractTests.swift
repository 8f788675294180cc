import Crypto
import Foundation
import GatewayTestSupport
import Testing
import TokenVault

/// The audit trail's promises, on SQLite and PostgreSQL alike: appended in order, one chain, any
/// change or removal found by `AuditChain`, pruned only from its start, one line across appenders.
@Suite("Audit trail contract", .serialized, .load(.heavy))
struct AuditTrailContractTests {
    private func record(_ index: Int, client: String = "crm", decision: String = "allow", at: Date = Date()) -> AuditRecord {
        var record = AuditRecord(at: at, kind: .request, subject: "GET /contacts/:contactId", decision: decision)
        record.requestId = "req-\(index)"
        record.client = client
        record.keyPrefix = "sha256:0123456789ab"
        record.location = index.isMultiple(of: 2) ? "locA" : "locB"
        record.rule = "scope contacts.readonly (crm.yaml:5)"
        record.policyRevision = "7"
        record.upstreamStatus = 200
        record.latencyMs = 1.25 + Double(index)
        return record
    }

    /// Every entry, paged through as `audit export` does.
    private func all(_ vault: any TokenVault) async throws -> [AuditEntry] {
        var entries: [AuditEntry] = []
        var query = AuditQuery()
        query.limit = 7
        while true {
            let page = try await vault.auditEntries(query)
            entries += page
            guard let last = page.last, page.count == query.limit else { return entries }
            query.afterId = last.id
        }
    }

    /// The id of the entry where the chain breaks, nil when it holds.
    private func breakId(_ entries: [AuditEntry]) -> Int64? {
        var chain = AuditChain()
        for entry in entries {
            do throws(AuditChain.Break) {
                try chain.check(entry)
            } catch {
                return error.id
            }
        }
        return nil
    }

    @Test(arguments: VaultBackend.allCases)
    func entriesAreChainedInOrderAndFiltered(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(try EncryptionKeyring(currentBase64: EncryptionKeyring.generateKeyBase64(), previousBase64: []))
        try await vault.appendAudit((0..<3).map { record($0) })
        try await vault.appendAudit([record(3, client: "billing", decision: "deny"), record(4)])
        let entries = try await all(vault)
        #expect(entries.map(\.record.requestId) == (0..<5).map { "req-\($0)" })
        #expect(entries.first?.previousHash == AuditEntry.genesis)
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $1.previousHash == $0.hash })
        #expect(entries[2].record == record(2).with(at: entries[2].record.at))
        #expect(breakId(entries) == nil)
        var query = AuditQuery()
        query.client = "billing"
        #expect(try await vault.auditEntries(query).map(\.record.requestId) == ["req-3"])
        query = AuditQuery()
        query.decision = "allow"
        query.location = "locA"
        #expect(try await vault.auditEntries(query).map(\.record.requestId) == ["req-0", "req-2", "req-4"])
        try await vault.close()
    }

    /// A batch larger than either store's rows per statement (two full statements and a remainder:
    /// 32 rows each in SQLite, 500 in PostgreSQL) keeps its order, every field, and one chain.
    @Test(arguments: VaultBackend.allCases)
    func aLargeBatchIsStoredInOrder(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(try EncryptionKeyring(currentBase64: EncryptionKeyring.generateKeyBase64(), previousBase64: []))
        let records = (0..<1_070).map { index in
            var record = record(index, decision: index.isMultiple(of: 3) ? "deny" : "allow")
            if index.isMultiple(of: 5) { record.upstreamStatus = nil }
            if index.isMultiple(of: 7) { record.detail = "" }
            return record
        }
        try await vault.appendAudit(records)
        let entries = try await all(vault)
        #expect(entries.map(\.record) == records.enumerated().map { $1.with(at: entries[$0].record.at) })
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.id < $1.id })
        #expect(breakId(entries) == nil)
        try await vault.close()
    }

    /// The stored hash is the documented one (docs/operations.md), so chains written by earlier
    /// builds still verify: SHA-256 over the previous hash, a newline, and every field as its
    /// UTF-8 length (4 bytes, big-endian; all ones when missing) and bytes, in a fixed order.
    @Test(arguments: VaultBackend.allCases)
    func eachHashIsTheDocumentedDigestOfThePreviousHashAndTheFields(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(try EncryptionKeyring(currentBase64: EncryptionKeyring.generateKeyBase64(), previousBase64: []))
        var admin = AuditRecord(at: Date(), kind: .admin, subject: "policy.reload", decision: "rejected")
        admin.detail = "crm.yaml:3: unknown scope ünïcode"
        try await vault.appendAudit([record(0), admin])
        let entries = try await all(vault)
        #expect(entries.count == 2)
        var previous = AuditEntry.genesis
        for entry in entries {
            #expect(entry.previousHash == previous)
            #expect(entry.hash == Self.documentedHash(entry.record, after: previous))
            previous = entry.hash
        }
        try await vault.close()
    }

    private static func documentedHash(_ record: AuditRecord, after previous: String) -> String {
        var data = Data((previous + "\n").utf8)
        let fields: [String?] = [
            record.kind.rawValue, "\(record.at.timeIntervalSince1970)", record.subject, record.decision, record.requestId, record.traceId,
            record.client, record.keyPrefix, record.location, record.company, record.code, record.rule, record.policyRevision,
            record.upstreamStatus.map { "\($0)" }, record.latencyMs.map { "\($0)" }, record.detail,
        ]
        for field in fields {
            guard let field else {
                data.append(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF])
                continue
            }
            let length = UInt32(field.utf8.count)
            data.append(contentsOf: [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
            data.append(contentsOf: field.utf8)
        }
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    @Test(arguments: VaultBackend.allCases)
    func aChangedOrRemovedEntryBreaksTheChain(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(try EncryptionKeyring(currentBase64: EncryptionKeyring.generateKeyBase64(), previousBase64: []))
        // Three writes, three blocks.
        for batch in 0..<3 { try await vault.appendAudit((0..<3).map { record(batch * 3 + $0) }) }
        let entries = try await all(vault)
        #expect(entries.count == 9)
        try await database.replaceInAuditBlocks("req-4", with: "req-X")
        #expect(breakId(try await all(vault)) == entries[4].id)
        try await database.replaceInAuditBlocks("req-X", with: "req-4")
        #expect(breakId(try await all(vault)) == nil)
        // A block removed: the one after it follows a hash nobody has.
        try await database.execute("DELETE FROM audit_blocks WHERE first_id = \(entries[3].id)")
        #expect(breakId(try await all(vault)) == entries[6].id)
        try await vault.close()
    }

    /// A database written before the blocks: its rows are read first, the blocks go on with their
    /// chain and their ids, a page spans both, and pruning a block takes the rows before it.
    @Test(arguments: VaultBackend.allCases)
    func rowsFromBeforeTheBlocksStayInTheChain(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(try EncryptionKeyring(currentBase64: EncryptionKeyring.generateKeyBase64(), previousBase64: []))
        let old = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 100 * 86_400).rounded())
        var previous = AuditEntry.genesis
        for index in 0..<3 {
            let record = record(index, at: old)
            let hash = record.hash(after: previous)
            try await database.execute(
                """
                INSERT INTO audit_log (at, kind, subject, decision, request_id, client, key_prefix, location, rule, policy_revision, \
                upstream_status, latency_ms, previous_hash, hash) VALUES (\(old.timeIntervalSince1970), 'request', '\(record.subject)', \
                'allow', '\(record.requestId!)', 'crm', '\(record.keyPrefix!)', '\(record.location!)', '\(record.rule!)', '7', 200, \
                \(record.latencyMs!), '\(previous)', '\(hash)')
                """)
            previous = hash
        }
        try await vault.appendAudit((3..<5).map { record($0, at: old) })
        try await vault.appendAudit((5..<7).map { record($0) })
        let entries = try await all(vault)
        #expect(entries.map(\.record.requestId) == (0..<7).map { "req-\($0)" })
        #expect(entries.map(\.id) == Array(entries[0].id..<entries[0].id + 7))
        #expect(entries[3].previousHash == previous)
        #expect(breakId(entries) == nil)
        var page = AuditQuery()
        page.afterId = entries[1].id
        page.limit = 3
        #expect(try await vault.auditEntries(page).map(\.id) == Array(entries[2...4].map(\.id)))
        page.location = "locA"
        #expect(try await vault.auditEntries(page).map(\.record.requestId) == ["req-2", "req-4", "req-6"])
        #expect(try await vault.pruneAudit(before: Date().addingTimeInterval(-90 * 86_400)) == 5)
        #expect(try await all(vault).map(\.record.requestId) == ["req-5", "req-6"])
        try await vault.close()
    }

    /// A block whose bytes do not read as its entries is reported, naming the block, not skipped.
    @Test(arguments: VaultBackend.allCases)
    func anUnreadableBlockIsReported(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(try EncryptionKeyring(currentBase64: EncryptionKeyring.generateKeyBase64(), previousBase64: []))
        try await vault.appendAudit((0..<3).map { record($0) })
        let first = try #require(try await all(vault).first?.id)
        // The first field's length (`request`, 7 bytes) made longer than what follows.
        try await database.replaceInAuditBlocks("\u{0}\u{0}\u{0}\u{7}request", with: "\u{7F}\u{0}\u{0}\u{7}request")
        await #expect(throws: VaultError.database("the audit block of entries \(first)–\(first + 2) is unreadable at entry \(first)")) {
            _ = try await vault.auditEntries(AuditQuery())
        }
        try await vault.close()
    }

    @Test(arguments: VaultBackend.allCases)
    func pruningRemovesTheOldestAndLeavesAChain(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(try EncryptionKeyring(currentBase64: EncryptionKeyring.generateKeyBase64(), previousBase64: []))
        let old = Date().addingTimeInterval(-100 * 86_400)
        try await vault.appendAudit((0..<3).map { record($0, at: old) })
        try await vault.appendAudit((3..<6).map { record($0) })
        #expect(try await vault.pruneAudit(before: Date().addingTimeInterval(-90 * 86_400)) == 3)
        let left = try await all(vault)
        #expect(left.map(\.record.requestId) == (3..<6).map { "req-\($0)" })
        #expect(breakId(left) == nil)
        try await vault.appendAudit([record(6)])
        #expect(breakId(try await all(vault)) == nil)
        try await vault.close()
    }

    /// Two handles on one database appending at once (two replicas): every entry is kept, in one line.
    @Test(arguments: VaultBackend.allCases)
    func concurrentAppendersKeepOneChain(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let keyring = try EncryptionKeyring(currentBase64: EncryptionKeyring.generateKeyBase64(), previousBase64: [])
        let first = try await database.open(keyring)
        let second = try await database.open(keyring)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (offset, vault) in [first, second].enumerated() {
                group.addTask {
                    for batch in 0..<10 {
                        try await vault.appendAudit((0..<5).map { self.record(offset * 1_000 + batch * 10 + $0) })
                    }
                }
            }
            try await group.waitForAll()
        }
        let entries = try await all(first)
        #expect(entries.count == 100)
        #expect(Set(entries.map(\.record.requestId)).count == 100)
        #expect(breakId(entries) == nil)
        try await first.close()
        try await second.close()
    }
}

extension AuditRecord {
    fileprivate func with(at date: Date) -> AuditRecord {
        var copy = self
        copy.at = date
        return copy
    }
}
