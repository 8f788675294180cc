import GatewayRuntime

/// What a proxy connection keeps from one request to the next, so the stages do not redo it: the
/// policy snapshot it evaluated against (taken again only when the store swapped it) and the
/// caller it authenticated under that snapshot (forgotten with it).
struct ConnectionMemo: Sendable {
    private var held: PolicyStore.Held?
    var caller: CallerAuthenticator.Recent?

    /// The store's snapshot in force now.
    mutating func snapshot(of store: PolicyStore) -> PolicyStore.Snapshot {
        let before = held?.version
        let snapshot = store.snapshot(refreshing: &held)
        if held?.version != before { caller = nil }
        return snapshot
    }
}
