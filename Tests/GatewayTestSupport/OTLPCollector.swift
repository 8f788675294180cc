import Foundation
import GatewayPolicy
import Hummingbird
import Logging
import Synchronization

/// An OpenTelemetry collector on a real socket, for OTLP/HTTP with protobuf bodies: it keeps every
/// span it is sent, so a test can wait for the spans of one trace and check their links.
package final class OTLPCollector: Sendable {
    /// One span, its ids in lowercase hex.
    package struct Span: Sendable {
        package var traceId: String
        package var spanId: String
        package var parentSpanId: String
        package var name: String
        /// 2 is server, 3 is client.
        package var kind: Int
        package var attributes: [String: String]
        package var serviceName: String?
    }

    private let spans = Mutex<[Span]>([])
    private let arrivals = ChangeCounter()

    package var received: [Span] { spans.withLock { $0 } }

    /// The spans received so far that satisfy `match`, once at least `count` of them arrived.
    package func wait(for count: Int, _ match: @escaping @Sendable (Span) -> Bool, within limit: Duration = .seconds(10)) async throws -> [Span] {
        try await withTimeout(limit) {
            while !Task.isCancelled {
                let seen = self.arrivals.count
                if self.received.filter(match).count >= count { return }
                await self.arrivals.wait(after: seen)
            }
        }
        return received.filter(match)
    }

    private func record(_ request: Request) async throws -> Response {
        let body = Array(try await request.body.collect(upTo: 4 << 20).readableBytesView)
        guard request.headers[.contentType] == "application/x-protobuf", let found = try? Self.spans(body) else {
            return Response(status: .badRequest)
        }
        spans.withLock { $0 += found }
        arrivals.increment()
        return Response(status: .ok, headers: [.contentType: "application/x-protobuf"])
    }

    /// The spans of an `ExportTraceServiceRequest` (opentelemetry/proto/trace/v1/trace.proto).
    static func spans(_ request: [UInt8]) throws -> [Span] {
        var found: [Span] = []
        for resourceSpans in try ProtobufReader.fields(request) where resourceSpans.number == 1 {
            let parts = try ProtobufReader.fields(resourceSpans.value.bytes)
            let resource = try parts.filter { $0.number == 1 }.flatMap { try ProtobufReader.fields($0.value.bytes) }
            let serviceName = try attributes(resource.filter { $0.number == 1 })["service.name"]
            for scopeSpans in parts where scopeSpans.number == 2 {
                for span in try ProtobufReader.fields(scopeSpans.value.bytes) where span.number == 2 {
                    let fields = try ProtobufReader.fields(span.value.bytes)
                    func bytes(_ number: Int) -> [UInt8] { fields.last { $0.number == number }?.value.bytes ?? [] }
                    found.append(
                        Span(
                            traceId: ASCIIHex.string(bytes(1)), spanId: ASCIIHex.string(bytes(2)), parentSpanId: ASCIIHex.string(bytes(4)),
                            name: String(decoding: bytes(5), as: UTF8.self), kind: Int(fields.last { $0.number == 6 }?.value.integer ?? 0),
                            attributes: try attributes(fields.filter { $0.number == 9 }), serviceName: serviceName))
                }
            }
        }
        return found
    }

    /// `KeyValue`s, their `AnyValue` as text (string, bool, int or double).
    private static func attributes(_ keyValues: [(number: Int, value: ProtobufReader.Value)]) throws -> [String: String] {
        var result: [String: String] = [:]
        for keyValue in keyValues {
            let fields = try ProtobufReader.fields(keyValue.value.bytes)
            guard let key = fields.first(where: { $0.number == 1 })?.value.text,
                let value = try fields.first(where: { $0.number == 2 }).map({ try ProtobufReader.fields($0.value.bytes) })?.first
            else { continue }
            switch value.number {
            case 1: result[key] = value.value.text
            case 2: result[key] = value.value.integer == 0 ? "false" : "true"
            case 3: result[key] = value.value.integer.map { String(Int64(bitPattern: $0)) }
            case 4: result[key] = value.value.integer.map { String(Double(bitPattern: $0)) }
            default: continue
            }
        }
        return result
    }

    /// Runs a collector for the duration of `body`, which gets its traces URL.
    package static func withRunning<Result: Sendable>(_ body: @Sendable (OTLPCollector, String) async throws -> Result) async throws -> Result {
        let collector = OTLPCollector()
        var logger = Logger(label: "otlp-collector")
        logger.logLevel = .warning
        let router = Router()
        router.post("/v1/traces") { request, _ in try await collector.record(request) }
        return try await RunningService.with(logger: logger) { bound in
            Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in await bound(channel.localAddress?.port ?? 0) }, logger: logger)
        } _: { port in
            try await body(collector, "http://127.0.0.1:\(port)/v1/traces")
        }
    }
}
