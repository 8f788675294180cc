import Hummingbird
import Logging

/// The internet-facing listener: the install flow and HighLevel's webhooks.
enum PublicListener {
    static func router(install: InstallFlow, webhooks: WebhookReceiver) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/oauth/install") { _, _ -> Response in
            do {
                let url = try await install.installURL()
                return Response(status: .found, headers: securityHeaders + [.location: url])
            } catch {
                install.logger.error("install link not created", metadata: ["error": "\(error)"])
                return page(503, HTMLPage(title: "ghl-gateway", lines: ["The gateway cannot start an install right now."]).html)
            }
        }
        router.get("/oauth/callback") { request, _ -> Response in
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters where query[String(key)] == nil {
                query[String(key)] = String(value)
            }
            let outcome = await install.complete(query: query)
            return page(outcome.status, outcome.page)
        }
        router.post("/webhooks/highlevel") { request, _ -> Response in
            await webhooks.receive(request)
        }
        return router
    }

    /// No caching, no referrer (the callback URL carries the code), no scripts.
    static let securityHeaders: HTTPFields = [
        .cacheControl: "no-store",
        .init("Referrer-Policy")!: "no-referrer",
        .init("X-Content-Type-Options")!: "nosniff",
        .contentSecurityPolicy: "default-src 'none'",
    ]

    static func page(_ status: Int, _ html: String) -> Response {
        Response(
            status: .init(code: status), headers: securityHeaders + [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

extension HTTPFields {
    static func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
        var fields = lhs
        fields.append(contentsOf: rhs)
        return fields
    }
}
