import Hummingbird

/// Times every request of the admin and public listeners for `ghl_gateway_request_duration_seconds`
/// (the proxy's requests are timed as their exchange finishes, with their decision and code).
package struct RequestDurationMetrics<Context: RequestContext>: RouterMiddleware {
    let listener: String
    let metrics: GatewayMetrics

    package init(listener: String, metrics: GatewayMetrics) {
        self.listener = listener
        self.metrics = metrics
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.listenerRequest(listener: listener, status: response.status.code, duration: .now - started)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.listenerRequest(listener: listener, status: status, duration: .now - started)
            throw error
        }
    }
}
