import Foundation
import NIOSSL
import Synchronization

/// One listener's TLS context, built from its certificate, key and (optional) client CA files and
/// swapped whole when they change: a new connection takes the context in force when it is
/// accepted, so a reload never touches an open connection. A mutex, not an actor: the context is
/// read on every accept, on the event loop.
package final class TLSContextStore: Sendable {
    package enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        case invalid(String)

        package var description: String {
            switch self {
            case .unreadable(let path): "cannot read \(path)"
            case .invalid(let reason): reason
            }
        }
    }

    enum ReloadOutcome: Equatable {
        case unchanged
        case applied
        case rejected(String)
    }

    let settings: ListenerTLS
    private let current: Mutex<(context: NIOSSLContext, files: [Data])>

    /// Loads the files now; a listener that cannot start with them does not start at all.
    package init(_ settings: ListenerTLS) throws(Failure) {
        self.settings = settings
        let files = try Self.read(settings)
        current = Mutex((try Self.context(settings, files), files))
    }

    package var context: NIOSSLContext { current.withLock { $0.context } }

    /// Re-reads the files; a change is applied only if it makes a valid context (else the one in
    /// force keeps serving).
    func reload() -> ReloadOutcome {
        do {
            let files = try Self.read(settings)
            guard files != current.withLock({ $0.files }) else { return .unchanged }
            let context = try Self.context(settings, files)
            current.withLock { $0 = (context, files) }
            return .applied
        } catch {
            return .rejected(error.description)
        }
    }

    private static func read(_ settings: ListenerTLS) throws(Failure) -> [Data] {
        var files: [Data] = []
        for path in [settings.certificateFile, settings.privateKeyFile] + (settings.clientCAFile.map { [$0] } ?? []) {
            guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
            files.append(data)
        }
        return files
    }

    private static func context(_ settings: ListenerTLS, _ files: [Data]) throws(Failure) -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(files[0]))
            guard !chain.isEmpty else { throw Failure.invalid("\(settings.certificateFile) holds no PEM certificate") }
            let key = try NIOSSLPrivateKey(bytes: Array(files[1]), format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12
            if files.count > 2 {
                let authorities = try NIOSSLCertificate.fromPEMBytes(Array(files[2]))
                guard !authorities.isEmpty else { throw Failure.invalid("\(settings.clientCAFile ?? "client_ca") holds no PEM certificate") }
                configuration.trustRoots = .certificates(authorities)
                configuration.certificateVerification = .noHostnameVerification
            }
            return try NIOSSLContext(configuration: configuration)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .invalid("the TLS certificate, key or client CA does not load (\(error))")
        }
    }
}
