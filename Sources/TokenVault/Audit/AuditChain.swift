import Foundation

/// Checks that entries, read in order, form one chain: each hash is its record's hash after the
/// hash before it, and each entry follows the one read before it.
package struct AuditChain: Sendable {
    /// Why the chain breaks at an entry.
    package struct Break: Error, Sendable, Equatable, CustomStringConvertible {
        package let id: Int64
        package let reason: String

        package var description: String { "entry \(id): \(reason)" }
    }

    /// The hash the next entry must follow; nil before the first (which may follow any hash: older entries may have been pruned).
    package private(set) var lastHash: String?
    package private(set) var checked = 0

    package init() {}

    package mutating func check(_ entry: AuditEntry) throws(Break) {
        if let last = lastHash, entry.previousHash != last {
            throw Break(
                id: entry.id,
                reason: "it follows \(entry.previousHash.prefix(12)), not the entry before it (\(last.prefix(12))): an entry was removed or inserted")
        }
        guard entry.record.hash(after: entry.previousHash) == entry.hash else {
            throw Break(id: entry.id, reason: "its hash does not match its contents: it was changed")
        }
        lastHash = entry.hash
        checked += 1
    }
}
