#if canImport(Glibc)
import Glibc
#endif

/// A TCP socket bound to an ephemeral port of 127.0.0.1: for a port the sandbox must know before
/// its listener binds, and for tests that need a port nothing answers on.
package struct LoopbackSocket: Sendable {
    package let descriptor: Int32
    package let port: Int

    package struct Unavailable: Error {}

    /// Binds (and, with `listening`, listens with a backlog of 128, accepting nothing itself).
    package init(listening: Bool) throws(Unavailable) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Unavailable() }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && (!listening || listen(fd, 128) == 0) && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            Glibc.close(fd)
            throw Unavailable()
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    package func close() { Glibc.close(descriptor) }
}
