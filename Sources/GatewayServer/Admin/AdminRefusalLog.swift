import Crypto
import Foundation
import GatewayPolicy
import Hummingbird
import Logging

/// Logs every admin request refused for its credentials (401): the method, the path and what was
/// presented, as a short hash (never the value), so a probe or a misconfigured tool shows up.
struct AdminRefusalLog<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        guard response.status == .unauthorized else { return response }
        let presented = request.headers[.authorization].map {
            "sha256:" + ASCIIHex.string(SHA256.hash(data: Data($0.utf8))).prefix(12)
        }
        logger.notice(
            "admin request refused: no valid admin token",
            metadata: [
                "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "presented": "\(presented ?? "none")",
            ])
        return response
    }
}
