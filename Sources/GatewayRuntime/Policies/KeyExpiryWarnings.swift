import Foundation

/// Which keys the log has warned about: a key is logged once when it comes within a week of its
/// expiry and once when it expires, however often the policies are checked or reloaded.
struct KeyExpiryWarnings {
    private var warned: Set<String> = []

    /// The keys of `report` that expire within a week or have expired and were not warned about in that state yet.
    mutating func check(_ report: ClientKeysReport) -> [(client: String, key: ClientKeysReport.Key)] {
        report.clients.flatMap { client in client.keys.map { (client: client.client, key: $0) } }.filter { entry in
            (entry.key.expired || entry.key.expiresSoon) && warned.insert("\(entry.key.digest) \(entry.key.expired)").inserted
        }
    }
}
