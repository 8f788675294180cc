import NIOCore
import NIOHTTP1

/// HighLevel's answer as the forwarder hands it back: the head, and the body either whole (it
/// ended within the buffering limit, the common case) or as a stream that reads from the
/// connection only as fast as the caller takes it.
package struct UpstreamResponse: Sendable {
    package enum Body: Sendable {
        case buffered(ByteBuffer?)
        case streamed(UpstreamBodyStream)
    }

    package var head: HTTPResponseHead
    package var body: Body

    /// Drains a small body, so the connection can go back to its pool, before the request is replayed.
    package func discard() async {
        if case .streamed(let stream) = body {
            do {
                for try await _ in stream {}
            } catch {}
        }
    }
}

/// The body of a large upstream response; reading pauses when the consumer falls behind.
package typealias UpstreamBodyStream = NIOThrowingAsyncSequenceProducer<
    ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, UpstreamBodyDemand
>

/// Tells the connection when the consumer of a streamed body wants more, or has gone.
package struct UpstreamBodyDemand: NIOAsyncSequenceProducerDelegate {
    let handler: NIOLoopBound<UpstreamConnectionHandler>

    package func produceMore() {
        handler.eventLoop.execute { handler.value.resumeReading() }
    }

    package func didTerminate() {
        handler.eventLoop.execute { handler.value.consumerGone() }
    }
}

/// Why an exchange with HighLevel failed.
enum UpstreamFailure: Error, Equatable {
    /// The connection could not be made.
    case connect(String)
    /// The connection closed or failed before the response head. `reused` says whether it had
    /// served an earlier request (then a fresh connection may succeed); `requestWritten` whether
    /// any byte of this request may have reached HighLevel (then only an idempotent one is sent again).
    case closedBeforeHead(reused: Bool, requestWritten: Bool)
    /// No response head within `upstream.timeout_seconds`.
    case timedOut
    /// The response body stopped for longer than `upstream.read_timeout_seconds`, or broke off.
    case bodyInterrupted
    /// The caller stopped sending the request before its end; the connection was closed.
    case requestAbandoned
    /// The connection left HTTP/1.1's order: bytes between exchanges, a second or a 101 head, a
    /// write outside an exchange. It is closed.
    case outOfStep
}
