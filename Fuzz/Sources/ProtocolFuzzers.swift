import Crypto
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1

@testable import GatewayRuntime
@testable import GatewayServer

/// A delivery's signature header and body (the input's first line, then the rest): the verifier
/// ends on any of them and never accepts a signature it was not given by the key's holder.
enum WebhookVerifierFuzzer: Fuzzer {
    static let name = "webhook-verifier"
    static let verifier = try! WebhookVerifier(ed25519PEMs: [Curve25519.Signing.PrivateKey().publicKey.pemRepresentation], rsaPEM: nil)

    static func check(_ input: [UInt8]) {
        let split = input.firstIndex(of: UInt8(ascii: "\n")) ?? input.endIndex
        let header = String(decoding: input[..<split], as: UTF8.self)
        let body = Data(input[min(split + 1, input.endIndex)...])
        switch verifier.verify(body: body, ed25519Signature: header, rsaSignature: header) {
        case .valid: violated("a forged signature was accepted", input)
        case .invalid, .missing: break
        }
    }
}

/// HighLevel's answer, parsed as the upstream client parses it (its response decoder, then the
/// connection's state machine): it ends on any bytes, a delivered answer is whole and within the
/// buffer limit, and a connection is never reused after `Connection: close` nor while its request is
/// unfinished. The first input byte says whether the request's body was still being written and
/// whether the request was a `HEAD` (whose answer has no body).
enum UpstreamResponseFuzzer: Fuzzer {
    static let name = "upstream-response"
    static let bufferLimit = 4096

    static func check(_ input: [UInt8]) {
        guard let first = input.first else { return }
        let requestWhole = first & 1 == 0
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        do {
            try UpstreamResponseDecoder.add(to: channel.pipeline.syncOperations)
            let method: HTTPMethod = first & 2 == 0 ? .GET : .HEAD
            try channel.writeOutbound(
                UpstreamRequestPart.head(UpstreamRequestHead.Writer(method: method, path: "/contacts/x").finish(framing: .none)))
            try channel.writeOutbound(UpstreamRequestPart.end(nil))
            try channel.writeInbound(ByteBuffer(bytes: input.dropFirst()))
        } catch {
            return
        }
        var machine = UpstreamConnectionStateMachine(bufferLimit: bufferLimit)
        guard case .start(let exchange) = machine.begin() else { violated("a fresh connection refused to begin", input) }
        let head = UpstreamRequestHead.Writer(method: .PUT, path: "/contacts/x").finish(framing: .length(4))
        guard machine.write(.head(head), exchange: exchange, channelOpen: true),
            machine.write(.body(ByteBuffer(string: "ab")), exchange: exchange, channelOpen: true),
            !requestWhole || machine.write(.body(ByteBuffer(string: "cd")), exchange: exchange, channelOpen: true),
            !requestWhole || machine.write(.end(nil), exchange: exchange, channelOpen: true)
        else { violated("the exchange's own request was refused", input) }
        var closeAsked = false
        while let part = try? channel.readInbound(as: HTTPClientResponsePart.self) {
            if case .head(let head) = part { closeAsked = !head.isKeepAlive }
            switch machine.read(part, connectionOpen: true) {
            case .deliver(let head, let body, let reuse):
                if (body?.readableBytes ?? 0) > bufferLimit { violated("a buffered answer over the limit", input) }
                if reuse && !head.isKeepAlive { violated("a connection reused after Connection: close", input) }
                if reuse && !requestWhole { violated("a connection reused with its request unfinished", input) }
            case .finishStream(let reuse):
                if reuse && closeAsked { violated("a streamed connection reused after Connection: close", input) }
                if reuse && !requestWhole { violated("a streamed connection reused with its request unfinished", input) }
            case .none, .headReceived, .startStream, .yield, .fail:
                break
            }
        }
    }
}
