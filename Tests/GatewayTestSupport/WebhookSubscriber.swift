import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// An internal service receiving the gateway's webhook deliveries on a real socket: it records
/// each request (headers and exact body bytes) and answers the statuses a test queues (200 once
/// the queue is empty), or holds a delivery unanswered (a subscriber that hangs) until it stops.
package final class WebhookSubscriber: Sendable {
    package struct Received: Sendable {
        package var headers: [String: String]
        package var body: Data
        /// Held unanswered (`hold`), so not delivered by this arrival.
        package var held: Bool
    }

    private let state = Mutex<(received: [Received], statuses: [Int])>(([], []))
    private let arrivals = ChangeCounter()
    /// Rung once when the subscriber stops: held deliveries are then answered 503.
    private let stopping = ChangeCounter()
    /// A queued status that means: never answer while the subscriber runs.
    private static let held = 0

    package var received: [Received] { state.withLock { $0.received } }

    /// The next `statuses.count` deliveries are answered with these statuses, in order.
    package func answer(_ statuses: [Int]) { state.withLock { $0.statuses += statuses } }

    /// The next `count` deliveries are held unanswered until the subscriber stops.
    package func hold(_ count: Int) { answer(Array(repeating: Self.held, count: count)) }

    /// Returns once more than `count` deliveries arrived.
    package func wait(after count: Int) async { await arrivals.wait(after: count) }

    private func record(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let status = state.withLock { state -> Int in
            let status = state.statuses.isEmpty ? 200 : state.statuses.removeFirst()
            state.received.append(Received(headers: headers, body: Data(body.readableBytesView), held: status == Self.held))
            return status
        }
        arrivals.increment()
        guard status != Self.held else {
            await stopping.wait(after: 0)
            return Response(status: .serviceUnavailable)
        }
        return Response(status: .init(code: status))
    }

    /// Runs a subscriber for the duration of `body`, which gets its URL.
    package static func withRunning<Result: Sendable>(
        _ body: @Sendable (WebhookSubscriber, String) async throws -> Result
    ) async throws -> Result {
        let subscriber = WebhookSubscriber()
        var logger = Logger(label: "webhook-subscriber")
        logger.logLevel = .warning
        let router = Router()
        router.post("/events") { request, _ in try await subscriber.record(request) }
        return try await RunningService.with(logger: logger) { bound in
            Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in await bound(channel.localAddress?.port ?? 0) }, logger: logger)
        } _: { port in
            defer { subscriber.stopping.increment() }
            return try await body(subscriber, "http://127.0.0.1:\(port)/events")
        }
    }
}
