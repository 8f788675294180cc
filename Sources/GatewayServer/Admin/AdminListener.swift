import Crypto
import Foundation
import GatewayPolicy
import GatewayRuntime
import Hummingbird

/// The operators' listener: its middlewares (request timing, refused credentials logged) and its
/// routes, one file per concern (`ProbeAdmin`, `HealthAdmin`, `TokenAdmin`, `DeliveryAdmin`), with
/// the answers they share. Everything but the probes needs `Authorization: Bearer <admin token>`.
enum AdminListener {
    static func router(dependencies: AdminDependencies) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestDurationMetrics(listener: "admin", metrics: dependencies.metrics))
        router.add(middleware: AdminRefusalLog(logger: dependencies.logger))
        let adminDigest = Array(SHA256.hash(data: Data(dependencies.adminToken.revealed.utf8)))

        ProbeAdmin.addRoutes(to: router, dependencies: dependencies)
        HealthAdmin.addRoutes(to: router, dependencies: dependencies, adminDigest: adminDigest)
        TokenAdmin.addRoutes(to: router, dependencies: dependencies, adminDigest: adminDigest)
        DeliveryAdmin.addRoutes(to: router, dependencies: dependencies, adminDigest: adminDigest)
        AuditAdmin.addRoutes(to: router, dependencies: dependencies, adminDigest: adminDigest)
        return router
    }

    /// The presented token's SHA-256 compared with the admin token's in constant time.
    static func authorized(_ request: Request, _ expected: [UInt8]) -> Bool {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        let presented = Array(SHA256.hash(data: Data(header.dropFirst(7).utf8)))
        return ConstantTime.equal(presented, expected)
    }

    static func unauthorized() -> Response {
        GatewayError(.unauthenticated, "this endpoint needs Authorization: Bearer <admin token>")
            .response(requestId: RequestID.make())
    }

    /// An admin answer's JSON: sorted keys, ISO 8601 dates.
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A report as JSON (200), or why it could not be written.
    static func report(_ value: some Encodable, _ what: String, for request: Request) -> Response {
        do {
            return json(200, try encode(value))
        } catch {
            return GatewayError(.tokenUnavailable, "\(what) could not be written").response(requestId: RequestID.of(request.headers))
        }
    }

    static func json(_ status: Int, _ text: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func text(_ status: Int, _ text: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
