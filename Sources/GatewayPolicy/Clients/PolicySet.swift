import ScopeCatalog

/// Every client policy of a `policies/clients` directory, validated together against one catalog.
/// Immutable: a reload builds a new set and swaps it in whole.
package struct PolicySet: Sendable {
    package let clients: [String: ClientPolicy]
    private let byDigest: [KeyDigest: (client: String, key: Int)]

    /// The set of `clients`; a key `previous` also has keeps its record of last use.
    package init(clients: [ClientPolicy], carryingUsageFrom previous: PolicySet? = nil) {
        var clients = clients
        if let previous {
            for client in clients.indices {
                for key in clients[client].keys.indices {
                    if let usage = previous.key(clients[client].keys[key].digest)?.usage { clients[client].keys[key].usage = usage }
                }
            }
        }
        self.clients = Dictionary(uniqueKeysWithValues: clients.map { ($0.name, $0) })
        var byDigest: [KeyDigest: (client: String, key: Int)] = [:]
        for client in clients {
            for (index, key) in client.keys.enumerated() { byDigest[key.digest] = (client.name, index) }
        }
        self.byDigest = byDigest
    }

    /// The client whose key this is, and which of its keys. The lookup is by digest; the digest
    /// found is then compared in constant time, so the answer's timing does not depend on how much
    /// of a wrong key is right. Expiry is the caller's to check.
    package func caller(presenting key: some StringProtocol) -> (client: ClientPolicy, key: ClientKey)? {
        let digest = KeyDigest(key: key)
        guard let found = byDigest[digest], let client = clients[found.client], client.keys[found.key].digest.matches(digest) else { return nil }
        return (client, client.keys[found.key])
    }

    private func key(_ digest: KeyDigest) -> ClientKey? {
        byDigest[digest].flatMap { clients[$0.client]?.keys[$0.key] }
    }
}
