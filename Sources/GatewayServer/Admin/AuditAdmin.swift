import Foundation
import GatewayRuntime
import Hummingbird
import TokenVault

/// `GET /audit` (admin token): the audit trail, oldest first, by page (`after` the last id seen),
/// filtered by `since` (ISO 8601), `client`, `decision` and `location`.
enum AuditAdmin {
    static let maxPage = 1_000

    struct Page: Encodable {
        var entries: [AuditEntry]
        /// The `after` of the next page; nil on the last.
        var next: Int64?
    }

    static func addRoutes(to router: Router<BasicRequestContext>, dependencies: AdminDependencies, adminDigest: [UInt8]) {
        router.get("/audit") { request, _ -> Response in
            guard AdminListener.authorized(request, adminDigest) else { return AdminListener.unauthorized() }
            let parameters = request.uri.queryParameters
            var query = AuditQuery()
            query.client = parameters["client"].map(String.init)
            query.decision = parameters["decision"].map(String.init)
            query.location = parameters["location"].map(String.init)
            if let after = parameters["after"] {
                guard let id = Int64(after), id >= 0 else { return bad("after is an entry id") }
                query.afterId = id
            }
            if let limit = parameters["limit"] {
                guard let count = Int(limit), (1...maxPage).contains(count) else { return bad("limit is 1 to \(maxPage)") }
                query.limit = count
            }
            if let since = parameters["since"] {
                guard let date = try? Date(String(since), strategy: .iso8601) else { return bad("since is an ISO 8601 time") }
                query.since = date
            }
            do {
                let entries = try await dependencies.vault.auditEntries(query)
                return AdminListener.report(
                    Page(entries: entries, next: entries.count == query.limit ? entries.last?.id : nil), "the audit page", for: request)
            } catch {
                return GatewayError(.tokenUnavailable, "the audit trail is unavailable").response(requestId: RequestID.of(request.headers))
            }
        }
    }

    private static func bad(_ message: String) -> Response {
        GatewayError(.badRequest, message).response(requestId: RequestID.make())
    }
}
