import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Who a replica is, for the renewal leases and delivery claims it holds and for its heartbeat.
///
/// `name` is stable across restarts (`storage.replica_id`, or the host and proxy listener): a
/// restarted replica replaces its heartbeat row instead of being counted twice, and takes back at
/// once what its previous incarnation held, when that incarnation is provably gone (it ran on this
/// host, and its process no longer runs or had this process's id). `incarnation`
/// (`host/pid/random`) tells this process apart from earlier ones of the same name, so two live
/// processes never share a lease, even when misconfigured with one name.
package struct ReplicaIdentity: Sendable, Equatable, CustomStringConvertible {
    package let name: String
    package let incarnation: String

    package init(name: String, incarnation: String = ReplicaIdentity.newIncarnation()) {
        self.name = name
        self.incarnation = incarnation
    }

    /// An identity that no restart shares (tests, tools): the incarnation is the name too.
    package static func unique() -> ReplicaIdentity {
        let incarnation = newIncarnation()
        return ReplicaIdentity(name: incarnation, incarnation: incarnation)
    }

    /// What its leases and claims are held as: `name@incarnation`.
    package var holder: String { "\(name)@\(incarnation)" }

    package var description: String { holder }

    /// This process: host, process id and a random part.
    package static func newIncarnation() -> String {
        "\(ProcessInfo.processInfo.hostName)/\(getpid())/\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Whether `holder` was held by an earlier incarnation of this replica that is provably gone.
    func succeeds(_ holder: String) -> Bool {
        guard holder != self.holder, holder.hasPrefix(name + "@"), let pid = Self.processId(of: holder) else { return false }
        return pid == getpid() || Self.isGone(pid)
    }

    /// True when `holder` names a process of this host that no longer runs.
    static func isOrphaned(_ holder: String) -> Bool {
        guard let pid = processId(of: holder) else { return false }
        return isGone(pid)
    }

    private static func isGone(_ pid: pid_t) -> Bool {
        kill(pid, 0) != 0 && errno == ESRCH
    }

    /// The process id of a holder's incarnation, when it ran on this host.
    private static func processId(of holder: String) -> pid_t? {
        let incarnation = holder.split(separator: "@").last ?? Substring(holder)
        let parts = incarnation.split(separator: "/")
        guard parts.count == 3, parts[0] == ProcessInfo.processInfo.hostName else { return nil }
        return pid_t(parts[1])
    }
}
