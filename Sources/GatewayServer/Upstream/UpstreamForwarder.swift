import HTTPTypes
import NIOCore
import NIOHTTP1
import TokenVault

/// Sends the authorized request to HighLevel over a pooled connection of the caller's event loop:
/// the canonical path and the raw query, the caller's headers minus hop-by-hop ones and caller
/// credentials, the installation's token and a `Version`, the body streamed or (when small)
/// buffered for a replay.
struct UpstreamForwarder: Sendable {
    /// The request body as it goes to HighLevel.
    enum Payload: Sendable {
        case empty
        case buffered(ByteBuffer)
        /// The caller's body as it arrives (whichever server read it).
        case streamed(any AsyncSequence<ByteBuffer, any Error> & Sendable, length: Int?)

        var isReplayable: Bool {
            if case .streamed = self { false } else { true }
        }
    }

    let pool: UpstreamConnectionPool
    let apiVersion: String
    let maxBodyBytes: Int

    static let versionHeader = HTTPField.Name("Version")!

    func send(
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
    func head(
        method: HTTPRequest.Method, target: CanonicalTarget, headers: HTTPFields, wire: HTTPHeaders? = nil, body: Payload, token: Secret,
        requestId: String
    ) throws(GatewayError) -> HTTPRequestHead {
        guard HeaderValue.isPlain(token.revealed) else {
            throw GatewayError(.tokenUnavailable, "the installation's token holds bytes a header cannot carry; reinstall the app")
        }
        var head = HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: method.rawValue),
            uri: pool.endpoint.pathPrefix + target.path + (target.query.map { "?" + $0 } ?? ""))
        head.headers = wire.map(HopByHopHeaders.upstreamRequest) ?? HopByHopHeaders.upstreamRequest(headers)
        head.headers.add(name: "Host", value: pool.endpoint.hostHeader)
        head.headers.add(name: "Authorization", value: "Bearer \(token.revealed)")
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

    /// Writes the body as it arrives, each chunk once the connection took the one before. When
    /// HighLevel answers before reading it all, its answer is what the caller gets.
    private func streaming(_ body: any AsyncSequence<ByteBuffer, any Error> & Sendable, head: HTTPRequestHead, on loop: any EventLoop) async throws -> UpstreamResponse {
        let exchange = try await pool.start(head: head, on: loop).get()
        do {
            var sent = 0
            for try await chunk in body {
                sent += chunk.readableBytes
                if sent > maxBodyBytes {
                    exchange.channel.close(promise: nil)
                    throw GatewayError(.payloadTooLarge, "the request body is larger than \(maxBodyBytes) bytes")
                }
                try await exchange.channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(chunk))).get()
            }
            try await exchange.channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        } catch let error as GatewayError {
            throw error
        } catch {
            if let early = try? await exchange.response.get() { return early }
            exchange.channel.close(promise: nil)
            throw error
        }
        return try await exchange.response.get()
    }

    static func gatewayError(_ error: any Error) -> GatewayError {
        switch error as? UpstreamFailure {
        case .timedOut: GatewayError(.upstreamTimeout, "HighLevel did not answer in time")
        case .connect(let reason): GatewayError(.upstreamUnreachable, "HighLevel could not be reached (\(reason))")
        case .closedBeforeHead: GatewayError(.upstreamUnreachable, "HighLevel closed the connection without answering")
        case .bodyInterrupted: GatewayError(.upstreamUnreachable, "HighLevel's answer broke off")
        case nil: GatewayError(.upstreamUnreachable, "HighLevel could not be reached")
        }
    }
}
