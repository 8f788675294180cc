import Foundation

/// What keeps renewals single-flight and shared limits fair across processes: renewal leases, and
/// the replicas' heartbeats (how many are alive, and a restarted one taking back what it held).
package protocol LeaseStore: Sendable {
    // MARK: Renewal leases

    /// Takes, or extends, the right to renew `owner`'s token: true when `holder` holds it until
    /// `until` (it was free, had lapsed, or was already `holder`'s). Only the holder calls HighLevel,
    /// so a refresh or exchange stays single-flight across processes and replicas.
    func acquireRenewalLease(_ owner: TokenOwner, holder: String, until: Date, now: Date) async throws(VaultError) -> Bool
    /// Gives the lease back (when `holder` still has it).
    func releaseRenewalLease(_ owner: TokenOwner, holder: String) async throws(VaultError)

    // MARK: Replicas

    /// Records that `replica` is alive at `now`, forgets replicas not seen since `staleBefore`, and
    /// returns how many are alive (this one included): what a replica divides shared budgets by.
    func heartbeat(replica: ReplicaIdentity, now: Date, staleBefore: Date) async throws(VaultError) -> Int
    /// A replica starts: takes back at once the renewal leases and delivery claims that an earlier
    /// incarnation of the same name held and that are provably gone (`ReplicaIdentity.succeeds`),
    /// and records its heartbeat under its name. Returns how many leases and claims it took back.
    func replicaStarted(_ replica: ReplicaIdentity, now: Date) async throws(VaultError) -> (leases: Int, claims: Int)
}
