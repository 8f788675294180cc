import Foundation
import NIOSSL
import PostgresNIO

/// `storage.postgres_url`: `postgres://user:password@host:5432/database?sslmode=require`.
///
/// `sslmode` is `disable`, `require` (encrypted; the server's certificate is not checked, as
/// libpq's `require`) or `verify-full` (the default: the certificate must chain to the system's
/// trust roots, or to `sslrootcert=/path/ca.pem`, and name the host). The password never leaves
/// this value except towards the server: `description` is host, port and database only.
package struct PostgresURL: Sendable, CustomStringConvertible {
    package enum TLSMode: String, Sendable {
        case disable
        case require
        case verifyFull = "verify-full"
    }

    package var host: String
    package var port: Int
    package var username: String
    var password: String?
    package var database: String
    package var tls: TLSMode
    package var rootCertificatePath: String?

    /// Why a URL was refused; never quotes the URL (it holds the password).
    package struct Invalid: Error, CustomStringConvertible {
        package var description: String
    }

    package init(_ text: String) throws(Invalid) {
        guard let components = URLComponents(string: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            components.scheme == "postgres" || components.scheme == "postgresql"
        else { throw Invalid(description: "not a postgres:// URL") }
        guard let host = components.host, !host.isEmpty else { throw Invalid(description: "the URL names no host") }
        guard let user = components.user, !user.isEmpty else { throw Invalid(description: "the URL names no user") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw Invalid(description: "the URL names no database (postgres://user@host/DATABASE)") }
        self.host = host
        port = components.port ?? 5432
        username = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        var tls = TLSMode.verifyFull
        var rootCertificatePath: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw Invalid(description: "sslmode must be disable, require or verify-full")
                }
                tls = mode
            case "sslrootcert":
                guard let path = item.value, !path.isEmpty else { throw Invalid(description: "sslrootcert names no file") }
                rootCertificatePath = path
            default:
                throw Invalid(description: "unknown URL parameter \(item.name) (known: sslmode, sslrootcert)")
            }
        }
        self.tls = tls
        self.rootCertificatePath = rootCertificatePath
    }

    package var description: String { "postgres://\(host):\(port)/\(database)" }

    /// The client configuration: TLS as the mode says, `poolSize` connections at most.
    func clientConfiguration(poolSize: Int) throws(VaultError) -> PostgresClient.Configuration {
        let tlsSetting: PostgresClient.Configuration.TLS
        switch tls {
        case .disable:
            tlsSetting = .disable
        case .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            tlsSetting = .require(configuration)
        case .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            if let rootCertificatePath {
                do {
                    configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificatePath))
                } catch {
                    throw .database("cannot read sslrootcert \(rootCertificatePath): \(error)")
                }
            }
            tlsSetting = .require(configuration)
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tlsSetting)
        configuration.options.maximumConnections = max(2, poolSize)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}
