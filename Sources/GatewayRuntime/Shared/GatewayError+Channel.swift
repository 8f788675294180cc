import NIOCore
import NIOHTTP1

/// The error as the handlers below Hummingbird write it (the fast path, the request target
/// guard): the same JSON and headers as `GatewayError.response`, plus what Hummingbird would add
/// itself (`Content-Length`, `Date`).
extension GatewayError {
    package func channelAnswer(requestId: String, version: HTTPVersion = .http1_1) -> (head: HTTPResponseHead, body: ByteBuffer) {
        let body = jsonBody(requestId: requestId)
        var fields = HTTPHeaders()
        for field in headers(requestId: requestId) { fields.add(name: field.name.rawName, value: field.value) }
        fields.add(name: "Content-Length", value: String(body.readableBytes))
        fields.add(name: "Date", value: HTTPDate.now())
        return (HTTPResponseHead(version: version, status: .init(statusCode: code.status), headers: fields), body)
    }
}
