import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import TokenVault

/// Sends the authorized request to HighLevel over the shared, pooled client: the canonical path
/// and the raw query, the caller's headers minus hop-by-hop ones and caller credentials, the
/// installation's token and a `Version`, the body streamed or (when small) buffered for a replay.
struct UpstreamForwarder: Sendable {
    enum Body: Sendable {
        case empty
        case buffered(ByteBuffer)
        case streamed(RequestBody, length: Int?)

        var isReplayable: Bool {
            if case .streamed = self { false } else { true }
        }
    }

    let http: HTTPClient
    let baseURL: String
    let apiVersion: String
    let timeout: TimeAmount
    let maxBodyBytes: Int

    static let versionHeader = HTTPField.Name("Version")!

    func send(
        method: HTTPRequest.Method, target: CanonicalTarget, headers: HTTPFields, body: Body, token: Secret, requestId: String
    ) async throws(GatewayError) -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + target.path + (target.query.map { "?" + $0 } ?? ""))
        request.method = HTTPMethod(rawValue: method.rawValue)
        request.headers = HopByHopHeaders.upstreamRequest(headers)
        request.headers.add(name: "Authorization", value: "Bearer \(token.revealed)")
        if headers[Self.versionHeader] == nil { request.headers.add(name: "Version", value: apiVersion) }
        request.headers.add(name: "X-Request-Id", value: requestId)
        switch body {
        case .empty:
            break
        case .buffered(let buffer):
            request.body = .bytes(buffer)
        case .streamed(let stream, let length):
            request.body = .stream(LimitedBody(base: stream, limit: maxBodyBytes), length: length.map { .known(Int64($0)) } ?? .unknown)
        }
        do {
            return try await http.execute(request, timeout: timeout)
        } catch {
            throw Self.gatewayError(error)
        }
    }

    static func gatewayError(_ error: any Error) -> GatewayError {
        if error is LimitedBody.TooLarge { return GatewayError(.payloadTooLarge, "the request body is larger than the limit") }
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .readTimeout:
                return GatewayError(.upstreamTimeout, "HighLevel did not answer in time")
            default:
                return GatewayError(.upstreamUnreachable, "HighLevel could not be reached (\(client.shortDescription))")
            }
        }
        return GatewayError(.upstreamUnreachable, "HighLevel could not be reached")
    }
}

/// A request body that fails once more than `limit` bytes have come through (chunked uploads
/// have no length to check up front).
struct LimitedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    struct TooLarge: Error {}

    let base: RequestBody
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let limit: Int
        var seen = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else { return nil }
            seen += chunk.readableBytes
            if seen > limit { throw TooLarge() }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), limit: limit) }
}

extension HTTPClientError {
    /// A short, secret-free name of the failure.
    fileprivate var shortDescription: String {
        let text = "\(self)"
        return String(text.prefix(80))
    }
}
