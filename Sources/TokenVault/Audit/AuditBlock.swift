import Crypto
import Foundation

/// Consecutive entries of the audit trail stored as one value: each entry's hash (32 bytes) and
/// its record's canonical fields (the bytes its hash covers), end to end. A row per entry cost the
/// writer about 3 µs of SQLite's work (a record built, a B-tree cell, an index entry); a block of
/// hundreds costs one of each, so the trail of every proxied call stays a small part of a request.
///
/// Invariants: entries are numbered `firstId...lastId` without gaps; the first follows
/// `previousHash`, each next one the entry before it; `lastHash` is the last entry's hash;
/// `earliest` and `latest` bound the records' times (requests finish out of order, so the times
/// are not sorted).
package struct AuditBlock: Sendable, Equatable {
    /// Entries per block at most: a page of `GET /audit` decodes a few blocks, not megabytes.
    package static let maximumEntries = 256

    package var firstId: Int64
    package var lastId: Int64
    package var previousHash: String
    package var lastHash: String
    package var earliest: Date
    package var latest: Date
    package var bytes: [UInt8]

    package init(firstId: Int64, lastId: Int64, previousHash: String, lastHash: String, earliest: Date, latest: Date, bytes: [UInt8]) {
        self.firstId = firstId
        self.lastId = lastId
        self.previousHash = previousHash
        self.lastHash = lastHash
        self.earliest = earliest
        self.latest = latest
        self.bytes = bytes
    }

    /// `records` chained after `previousHash` and numbered from `firstId`, in blocks of at most
    /// `maximumEntries`.
    package static func chain(_ records: [AuditRecord], after previousHash: String, firstId: Int64) -> [AuditBlock] {
        var blocks: [AuditBlock] = []
        // The previous hash in hex, as the next hash covers it: a string only at a block's ends.
        var previous = Array(previousHash.utf8)
        var next = firstId
        var scratch: [UInt8] = []
        var start = records.startIndex
        while start < records.endIndex {
            let run = records[start..<min(start + maximumEntries, records.endIndex)]
            let follows = String(decoding: previous, as: UTF8.self)
            var block = AuditBlock(
                firstId: next, lastId: next + Int64(run.count) - 1, previousHash: follows, lastHash: follows, earliest: run.first!.at,
                latest: run.first!.at, bytes: [])
            block.bytes.reserveCapacity(run.count * 400)
            for record in run {
                // The hash covers the previous hash, a newline and the canonical fields; the block keeps the fields.
                let digest = record.digest(after: previous, into: &scratch)
                // The digest read through its bytes: iterating it copied them into a new array each time.
                digest.withUnsafeBytes { block.bytes.append(contentsOf: $0) }
                block.bytes.append(contentsOf: scratch[(previous.count + 1)...])
                previous.removeAll(keepingCapacity: true)
                digest.withUnsafeBytes { $0.appendHex(to: &previous) }
                block.earliest = min(block.earliest, record.at)
                block.latest = max(block.latest, record.at)
            }
            block.lastHash = String(decoding: previous, as: UTF8.self)
            blocks.append(block)
            next = block.lastId + 1
            start = run.endIndex
        }
        return blocks
    }

    /// The block's entries, each with the hashes that chain it; a block whose bytes do not read
    /// as `lastId - firstId + 1` entries is reported, not guessed at.
    package func entries() throws(VaultError) -> [AuditEntry] {
        var reader = Reader(bytes: bytes)
        var entries: [AuditEntry] = []
        var previous = previousHash
        var id = firstId
        while !reader.atEnd {
            guard let digest = reader.take(32), let record = AuditRecord(reading: &reader) else {
                throw .database("the audit block of entries \(firstId)–\(lastId) is unreadable at entry \(id)")
            }
            let hash = digest.hexString
            entries.append(AuditEntry(id: id, record: record, previousHash: previous, hash: hash))
            previous = hash
            id += 1
        }
        guard id == lastId + 1 else {
            throw .database("the audit block of entries \(firstId)–\(lastId) holds \(id - firstId) entries")
        }
        return entries
    }

    /// Reads fields from the front of a block's bytes.
    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var atEnd: Bool { offset == bytes.count }

        mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, bytes.count - offset >= count else { return nil }
            defer { offset += count }
            return bytes[offset..<offset + count]
        }

        /// One canonical field: `.some(nil)` when it was missing, nil when the bytes end early.
        mutating func field() -> String?? {
            guard let length = take(4) else { return nil }
            let value = length.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if value == .max { return .some(nil) }
            guard let text = take(Int(value)) else { return nil }
            return .some(String(decoding: text, as: UTF8.self))
        }
    }
}

extension AuditRecord {
    /// The record whose canonical fields (`appendCanonical`) are next in `reader`; nil when they
    /// do not read as a record.
    init?(reading reader: inout AuditBlock.Reader) {
        var fields: [String?] = []
        fields.reserveCapacity(16)
        for _ in 0..<16 {
            guard let field = reader.field() else { return nil }
            fields.append(field)
        }
        guard let kind = fields[0].flatMap(Kind.init(rawValue:)), let seconds = fields[1].flatMap(Double.init), let subject = fields[2],
            let decision = fields[3]
        else { return nil }
        self.init(at: Date(timeIntervalSince1970: seconds), kind: kind, subject: subject, decision: decision)
        requestId = fields[4]
        traceId = fields[5]
        client = fields[6]
        keyPrefix = fields[7]
        location = fields[8]
        company = fields[9]
        code = fields[10]
        rule = fields[11]
        policyRevision = fields[12]
        if let status = fields[13] {
            guard let value = Int(status) else { return nil }
            upstreamStatus = value
        }
        if let latency = fields[14] {
            guard let value = Double(latency) else { return nil }
            latencyMs = value
        }
        detail = fields[15]
    }
}
