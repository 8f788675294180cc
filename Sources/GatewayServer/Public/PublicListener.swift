import Foundation
import GatewayRuntime
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The internet-facing listener: the install flow and HighLevel's webhooks.
enum PublicListener {
    static func router(
        install: InstallFlow, webhooks: WebhookReceiver, clientAddressHeader: String?, metrics: GatewayMetrics
    ) -> Router<PublicRequestContext> {
        let router = Router(context: PublicRequestContext.self)
        router.add(middleware: RequestDurationMetrics(listener: "public", metrics: metrics))
        let addressHeader = clientAddressHeader.flatMap { HTTPField.Name($0) }
        router.get("/oauth/install") { request, context -> Response in
            response(await install.start(clientAddress: clientAddress(request, context, header: addressHeader)))
        }
        router.get("/oauth/callback") { request, context -> Response in
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters where query[String(key)] == nil {
                query[String(key)] = String(value)
            }
            let address = clientAddress(request, context, header: addressHeader)
            return response(await install.complete(query: query, clientAddress: address))
        }
        router.post("/webhooks/highlevel") { request, _ -> Response in
            await webhooks.receive(request)
        }
        return router
    }

    /// The last value of the configured header (the one the proxy in front appended), else the peer's IP.
    static func clientAddress(_ request: Request, _ context: PublicRequestContext, header: HTTPField.Name?) -> String {
        if let header, let forwarded = request.headers[values: header].last?.split(separator: ",").last {
            let address = forwarded.trimmingCharacters(in: .whitespaces)
            if !address.isEmpty { return String(address.prefix(64)) }
        }
        return context.remoteAddress?.ipAddress ?? "unknown"
    }

    /// No caching, no referrer (the callback URL carries the code), no scripts.
    static let securityHeaders: HTTPFields = [
        .cacheControl: "no-store",
        .init("Referrer-Policy")!: "no-referrer",
        .init("X-Content-Type-Options")!: "nosniff",
        .contentSecurityPolicy: "default-src 'none'",
    ]

    static func response(_ outcome: InstallFlow.Outcome) -> Response {
        var response = page(outcome.status, outcome.page)
        if let redirect = outcome.redirect { response.headers[.location] = redirect }
        if let seconds = outcome.retryAfter { response.headers[.retryAfter] = String(seconds) }
        return response
    }

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
