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
    ) throws(GatewayError) -> HTTPRequestHead {
        guard HeaderValue.isPlain(token.revealed) else {
            throw GatewayError(.tokenUnavailable, "the installation's token holds bytes a header cannot carry; reinstall the app")
        }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method.rawValue), uri: uri(of: target))
        head.headers = wire.map(HopByHopHeaders.upstreamRequest) ?? HopByHopHeaders.upstreamRequest(headers)
        head.headers.add(name: "Host", value: pool.endpoint.hostHeader)
        head.headers.add(name: "Authorization", value: "Bearer " + token.revealed)
        if headers[Self.versionHeader] == nil { head.headers.add(name: "Version", value: apiVersion) }
        head.headers.add(name: RequestID.headerName, value: requestId)
        switch body {
        case .empty:
            if method != .get, method != .delete { head.headers.add(name: "Content-Length", value: "0") }
        case .buffered(let buffer):
            head.headers.add(name: "Content-Length", value: String(buffer.readableBytes))
        case .streamed(_, let length?):
            head.headers.add(name: "Content-Length", value: String(length))
        case .streamed(_, nil):
            head.headers.add(name: "Transfer-Encoding", value: "chunked")
        }
        return head
    }

    /// The endpoint's path prefix, the canonical path and the raw query, in one allocation.
    private func uri(of target: CanonicalTarget) -> String {
        let prefix = pool.endpoint.pathPrefix
        var uri = ""
        uri.reserveCapacity(prefix.utf8.count + target.path.utf8.count + (target.query.map { $0.utf8.count + 1 } ?? 0))
        uri += prefix
        uri += target.path
        if let query = target.query {
            uri += "?"
            uri += query
        }
        return uri
    }

    /// Writes the body as it arrives, each chunk once the connection took the one before, while
    /// waiting for HighLevel's answer. When HighLevel answers before the body's end (a 401, 413
    /// or 429 before reading it), the caller gets that answer at once and nothing more is written:
    /// the connection closes at the answer's end (`UpstreamConnectionStateMachine`). When the
    /// caller's body breaks off or grows too large, the connection is closed at once.
    private func streaming(
        _ body: any AsyncSequence<ByteBuffer, any Error> & Sendable, head: HTTPRequestHead, on loop: any EventLoop
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
                try await exchange.write(.body(.byteBuffer(chunk))).get()
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
