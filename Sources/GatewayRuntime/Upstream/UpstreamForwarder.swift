import HTTPTypes
import NIOCore
import NIOHTTP1
import TokenVault

/// Sends the authorized request to HighLevel over a pooled connection of the caller's event loop:
/// the canonical path and the raw query, the caller's headers minus hop-by-hop ones and caller
/// credentials, the installation's token and a `Version`, the body streamed or (when small)
/// buffered for a replay.
package struct UpstreamForwarder: Sendable {
    /// The request body as it goes to HighLevel.
    package enum Payload: Sendable {
        case empty
        case buffered(ByteBuffer)
        /// The caller's body as it arrives (whichever server read it).
        case streamed(any AsyncSequence<ByteBuffer, any Error> & Sendable, length: Int?)

        package var isReplayable: Bool {
            if case .streamed = self { false } else { true }
        }
    }

    package let pool: UpstreamConnectionPool
    let apiVersion: String
    let maxBodyBytes: Int

    package init(pool: UpstreamConnectionPool, apiVersion: String, maxBodyBytes: Int) {
        self.pool = pool
        self.apiVersion = apiVersion
        self.maxBodyBytes = maxBodyBytes
    }

    static let versionHeader = HTTPField.Name("Version")!

    package func send(
        method: HTTPRequest.Method, target: CanonicalTarget, headers: HTTPFields, wire: HTTPHeaders? = nil, body: Payload, token: Secret,
        requestId: String, on loop: any EventLoop
    ) async throws(GatewayError) -> UpstreamResponse {
        let head = try head(method: method, target: target, headers: headers, wire: wire, body: body, token: token, requestId: requestId)
        do {
            switch body {
            case .empty:
                return try await pool.send(head: head, body: nil, on: loop).get()
            case .buffered(let buffer):
                return try await pool.send(head: head, body: buffer, on: loop).get()
            case .streamed(let stream, _):
                return try await streaming(stream, head: head, on: loop)
            }
        } catch let error as GatewayError {
            throw error
        } catch {
            throw Self.gatewayError(error)
        }
    }

    /// The request line and headers HighLevel gets, framed for `body`. `wire`, when given, is the
    /// same header block as NIO parsed it (`headers` converted), copied from instead of `headers`.
    /// A token that could not be a header value is refused rather than sent.
    package func head(
        method: HTTPRequest.Method, target: CanonicalTarget, headers: HTTPFields, wire: HTTPHeaders? = nil, body: Payload, token: Secret,
        requestId: String
    ) throws(GatewayError) -> UpstreamRequestHead {
        guard HeaderValue.isPlain(token.revealed) else {
            throw GatewayError(.tokenUnavailable, "the installation's token holds bytes a header cannot carry; reinstall the app")
        }
        var head = UpstreamRequestHead.Writer(
            method: HTTPMethod(rawValue: method.rawValue), prefix: pool.endpoint.pathPrefix, path: target.path, query: target.query)
        if let wire {
            HopByHopHeaders.upstreamRequest(wire, into: &head)
        } else {
            HopByHopHeaders.upstreamRequest(headers, into: &head)
        }
        head.add(name: "Host", value: pool.endpoint.hostHeader)
        head.addAuthorization(bearer: token.revealed)
        if headers[Self.versionHeader] == nil { head.add(name: "Version", value: apiVersion) }
        head.add(name: RequestID.headerName, value: requestId)
        return switch body {
        case .empty: head.finish(framing: method == .get || method == .delete ? .none : .length(0))
        case .buffered(let buffer): head.finish(framing: .length(buffer.readableBytes))
        case .streamed(_, let length?): head.finish(framing: .length(length))
        case .streamed(_, nil): head.finish(framing: .chunked)
        }
    }

    /// Writes the body as it arrives, each chunk once the connection took the one before, while
    /// waiting for HighLevel's answer. When HighLevel answers before the body's end (a 401, 413
    /// or 429 before reading it), the caller gets that answer at once and nothing more is written:
    /// the connection closes at the answer's end (`UpstreamConnectionStateMachine`). When the
    /// caller's body breaks off or grows too large, the connection is closed at once.
    private func streaming(
        _ body: any AsyncSequence<ByteBuffer, any Error> & Sendable, head: UpstreamRequestHead, on loop: any EventLoop
    ) async throws -> UpstreamResponse {
        let exchange = try await pool.start(head: head, on: loop).get()
        return try await withThrowingTaskGroup(of: StreamedHalf.self) { halves in
            halves.addTask { .answered(try await exchange.response.get()) }
            halves.addTask { try await write(body, to: exchange) }
            while let half = try await halves.next() {
                switch half {
                case .answered(let response):
                    halves.cancelAll()
                    return response
                case .sent, .upstreamRefusedWrite:
                    // The answer, or why there is none, comes from the other half.
                    continue
                case .callerFailed(let error):
                    exchange.abandon()
                    halves.cancelAll()
                    throw error
                }
            }
            throw UpstreamFailure.requestAbandoned
        }
    }

    /// How the request half of a streamed exchange ended.
    private enum StreamedHalf: Sendable {
        case answered(UpstreamResponse)
        case sent
        /// The connection took no more (closed, or the exchange is over): the answer half says why.
        case upstreamRefusedWrite
        /// The caller's body broke off or passed `maxBodyBytes`.
        case callerFailed(GatewayError)
    }

    private func write(
        _ body: any AsyncSequence<ByteBuffer, any Error> & Sendable, to exchange: UpstreamConnectionPool.Exchange
    ) async -> StreamedHalf {
        var sent = 0
        var chunks = body.makeAsyncIterator()
        while true {
            let chunk: ByteBuffer?
            do {
                chunk = try await chunks.next()
            } catch {
                return .callerFailed(GatewayError(.badRequest, "the request body broke off before its end"))
            }
            guard let chunk else { break }
            sent += chunk.readableBytes
            if sent > maxBodyBytes { return .callerFailed(GatewayError(.payloadTooLarge, "the request body is larger than \(maxBodyBytes) bytes")) }
            do {
                try await exchange.write(.body(chunk)).get()
            } catch {
                return .upstreamRefusedWrite
            }
        }
        do {
            try await exchange.write(.end(nil)).get()
            return .sent
        } catch {
            return .upstreamRefusedWrite
        }
    }

    package static func gatewayError(_ error: any Error) -> GatewayError {
        switch error as? UpstreamFailure {
        case .timedOut: GatewayError(.upstreamTimeout, "HighLevel did not answer in time")
        case .connect(let reason): GatewayError(.upstreamUnreachable, "HighLevel could not be reached (\(reason))")
        case .closedBeforeHead: GatewayError(.upstreamUnreachable, "HighLevel closed the connection without answering")
        case .bodyInterrupted: GatewayError(.upstreamUnreachable, "HighLevel's answer broke off")
        case .requestAbandoned: GatewayError(.badRequest, "the request body broke off before its end")
        case .outOfStep: GatewayError(.upstreamUnreachable, "HighLevel's answer did not follow HTTP/1.1")
        case nil: GatewayError(.upstreamUnreachable, "HighLevel could not be reached")
        }
    }
}
