import Hummingbird

/// The error as the Hummingbird listeners (proxy requests with a body, public, admin) answer it.
extension GatewayError {
    package func response(requestId: String) -> Response {
        Response(status: .init(code: code.status), headers: headers(requestId: requestId), body: .init(byteBuffer: jsonBody(requestId: requestId)))
    }
}
