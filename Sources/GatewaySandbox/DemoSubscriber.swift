import Crypto
import Foundation
import Hummingbird
import Logging

/// The sandbox's internal service receiving HighLevel's events from the gateway: it checks each
/// delivery's Standard Webhooks signature with its secret and prints one line per event.
package struct DemoSubscriber: Sendable {
    let key: SymmetricKey
    let output: @Sendable (String) -> Void
    /// Event types received with a valid signature, in order (the self-test waits on them).
    package let received: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    /// `secret` is the `whsec_` secret the demo client's policy references.
    init(secret: String, output: @escaping @Sendable (String) -> Void) {
        key = SymmetricKey(data: Data(base64Encoded: String(secret.dropFirst("whsec_".count))) ?? Data())
        self.output = output
        (received, continuation) = AsyncStream.makeStream(of: String.self)
    }

    func application(port: Int, logger: Logger, onReady: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.post("/events") { request, _ -> Response in
            let body = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            let id = request.headers[.init("webhook-id")!] ?? ""
            let timestamp = request.headers[.init("webhook-timestamp")!] ?? ""
            let type = request.headers[.init("X-GHL-Event-Type")!] ?? "?"
            let expected =
                "v1," + Data(HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).".utf8) + body, using: key)).base64EncodedString()
            let signatures = (request.headers[.init("webhook-signature")!] ?? "").split(separator: " ")
            guard signatures.contains(where: { $0 == expected }) else {
                output("demo subscriber: refused a delivery with a bad signature")
                return Response(status: .unauthorized)
            }
            output("demo subscriber received \(type) (webhook-id \(id), signature verified, \(body.count) bytes)")
            continuation.yield(type)
            return Response(status: .noContent)
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "demo-subscriber"),
            onServerRunning: { channel in await onReady(channel.localAddress?.port ?? port) }, logger: logger)
    }
}
