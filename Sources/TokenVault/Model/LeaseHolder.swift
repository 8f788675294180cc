import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who holds a renewal lease: host, process id and a random part (`host/pid/random`), unique per
/// token broker. On one host a lease can be told to be orphaned: its process is gone.
package enum LeaseHolder {
    /// A new holder name for this process.
    package static func make() -> String {
        "\(ProcessInfo.processInfo.hostName)/\(getpid())/\(UInt32.random(in: 0...UInt32.max))"
    }

    /// True when `holder` names a process of this host that no longer runs.
    static func isOrphaned(_ holder: String) -> Bool {
        let parts = holder.split(separator: "/")
        guard parts.count == 3, parts[0] == ProcessInfo.processInfo.hostName, let pid = pid_t(parts[1]) else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
