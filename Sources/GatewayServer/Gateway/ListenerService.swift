import GatewayRuntime
import NIOCore
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// One listener's server, run as a service: a bind that fails says which listener and address, so
/// `serve` can exit 2 with one line instead of NIO's errno text.
struct ListenerService: Service {
    let listener: ListenerKind
    let address: ListenAddress
    let server: any Service

    func run() async throws {
        do {
            try await server.run()
        } catch let error as IOError where [EADDRINUSE, EACCES, EADDRNOTAVAIL].contains(error.errnoCode) {
            throw GatewayStartupError.listenerBind(
                listener: listener.rawValue, address: "\(address)", reason: String(cString: strerror(error.errnoCode)))
        }
    }
}
