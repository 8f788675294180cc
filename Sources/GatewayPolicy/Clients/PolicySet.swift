import ScopeCatalog

/// Every client policy of a `policies/clients` directory, validated together against one catalog.
/// Immutable: a reload builds a new set and swaps it in whole.
package struct PolicySet: Sendable {
    package let clients: [String: ClientPolicy]
    private let byDigest: [KeyDigest: String]

    package init(clients: [ClientPolicy]) {
        self.clients = Dictionary(uniqueKeysWithValues: clients.map { ($0.name, $0) })
        self.byDigest = Dictionary(uniqueKeysWithValues: clients.map { ($0.key, $0.name) })
    }

    /// The client whose key this is. The lookup is by digest; the digest found is then compared in
    /// constant time, so the answer's timing does not depend on how much of a wrong key is right.
    package func client(presenting key: some StringProtocol) -> ClientPolicy? {
        let digest = KeyDigest(key: key)
        guard let name = byDigest[digest], let client = clients[name], client.key.matches(digest) else { return nil }
        return client
    }
}
