import Crypto
import Foundation

/// One decision or administrative action, as the audit trail keeps it: who, what, on which
/// location or company, what was decided and by which rule. Never a body, a token, a key or a
/// secret: a key appears as its digest prefix.
package struct AuditRecord: Sendable, Equatable, Codable {
    package enum Kind: String, Sendable, Codable {
        /// A proxied request.
        case request
        /// An MCP tool call that reached the proxy's stages.
        case mcp
        /// An operator's or the gateway's own action (token refresh or revoke, delivery retry,
        /// policy reload, install, uninstall).
        case admin
    }

    package var at: Date
    package var kind: Kind
    /// A route template (`GET /contacts/:contactId`), a tool, or an admin action (`token.revoke`).
    package var subject: String
    /// `allow`, `deny`, `rate_limited`, `error`; for an admin action what became of it (`done`, `accepted`, `rejected`).
    package var decision: String
    package var requestId: String? = nil
    package var traceId: String? = nil
    package var client: String? = nil
    /// The presented key's digest prefix (`sha256:` and 12 hex digits).
    package var keyPrefix: String? = nil
    package var location: String? = nil
    package var company: String? = nil
    package var code: String? = nil
    /// The rule that decided, with where it is written (`scope contacts.readonly (crm.yaml:5)`).
    package var rule: String? = nil
    /// The policy set in force (its version).
    package var policyRevision: String? = nil
    package var upstreamStatus: Int? = nil
    package var latencyMs: Double? = nil
    /// An admin action's object (an owner, a delivery, a policy error).
    package var detail: String? = nil

    package init(at: Date, kind: Kind, subject: String, decision: String) {
        self.at = at
        self.kind = kind
        self.subject = subject
        self.decision = decision
    }

    /// Appends the record's fields in one fixed order, each as its UTF-8 length (4 bytes,
    /// big-endian; all ones for a missing field) and bytes: what its hash covers, and how an
    /// `AuditBlock` stores it (`init(reading:)` reads it back).
    func appendCanonical(to bytes: inout [UInt8]) {
        // Each string's contiguous UTF-8 copied at once, read where it is (appending its `utf8`
        // view went byte by byte; a copy of the string retained and released it).
        func field(_ text: String?) {
            guard let text else { return withUnsafeBytes(of: UInt32.max) { bytes.append(contentsOf: $0) } }
            func append(_ utf8: UnsafeBufferPointer<UInt8>) {
                withUnsafeBytes(of: UInt32(utf8.count).bigEndian) { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: utf8)
            }
            if text.utf8.withContiguousStorageIfAvailable(append) == nil {
                var copy = text
                copy.withUTF8(append)
            }
        }
        field(kind.rawValue)
        field(String(at.timeIntervalSince1970))
        field(subject)
        field(decision)
        field(requestId)
        field(traceId)
        field(client)
        field(keyPrefix)
        field(location)
        field(company)
        field(code)
        field(rule)
        field(policyRevision)
        field(upstreamStatus.map(String.init))
        field(latencyMs.map { String($0) })
        field(detail)
    }

    /// This record's hash when it follows the entry whose hash is `previous`: SHA-256 over the
    /// previous hash, a newline and the canonical fields, in hex.
    package func hash(after previous: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(640)
        return digest(after: previous.utf8, into: &bytes).hexString
    }

    /// The hash, with what it covers written into `bytes` (emptied first): `previous` (a hash in
    /// hex), a newline, then the canonical fields, from `previous.count + 1` on.
    func digest(after previous: some Collection<UInt8>, into bytes: inout [UInt8]) -> SHA256.Digest {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: previous)
        bytes.append(UInt8(ascii: "\n"))
        appendCanonical(to: &bytes)
        return SHA256.hash(data: bytes)
    }
}

/// A stored audit record: its place in the chain and the hashes that tie it to the one before.
/// Encoded flat: `id`, the record's fields, `previousHash`, `hash` (`GET /audit`, `audit export`).
package struct AuditEntry: Sendable, Equatable, Encodable {
    /// What the first entry follows.
    package static let genesis = String(repeating: "0", count: 64)

    package var id: Int64
    package var record: AuditRecord
    package var previousHash: String
    package var hash: String

    package init(id: Int64, record: AuditRecord, previousHash: String, hash: String) {
        self.id = id
        self.record = record
        self.previousHash = previousHash
        self.hash = hash
    }

    private enum CodingKeys: String, CodingKey {
        case id, previousHash, hash
    }

    package func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(previousHash, forKey: .previousHash)
        try container.encode(hash, forKey: .hash)
    }
}

/// Which audit entries to read: after an id (paging), since a time, of a client, with a decision, on a location.
package struct AuditQuery: Sendable, Equatable {
    package var afterId: Int64 = 0
    package var since: Date? = nil
    package var client: String? = nil
    package var decision: String? = nil
    package var location: String? = nil
    package var limit = 100

    package init() {}

    /// Blocks read at a time while a page is filled.
    static let blocksPerRead = 8

    /// Adds the entries of `blocks` (read in order, after the block that ended at `after`) that
    /// this query asks for to `entries`, up to `limit`; whether more blocks may still be read.
    func collect(from blocks: [AuditBlock], into entries: inout [AuditEntry], after: inout Int64) throws(VaultError) -> Bool {
        for block in blocks {
            for entry in try block.entries() where matches(entry) {
                entries.append(entry)
                if entries.count == limit { return false }
            }
            after = block.lastId
        }
        return blocks.count == Self.blocksPerRead
    }

    /// Whether `entry` is one this query asks for.
    package func matches(_ entry: AuditEntry) -> Bool {
        let record = entry.record
        return entry.id > afterId && since.map { record.at >= $0 } ?? true && (client == nil || record.client == client)
            && (decision == nil || record.decision == decision) && (location == nil || record.location == location)
    }
}
