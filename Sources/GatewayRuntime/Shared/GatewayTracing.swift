import Logging
import OTel
import ServiceLifecycle
import Tracing

/// The gateway's spans, exported over OTLP/HTTP when `telemetry.otlp_endpoint` is set: each
/// proxied request, each event HighLevel posts, and each delivery of it to a subscriber, in the
/// trace of the `traceparent` the sender gave (or a new one). Off by default: the log lines carry
/// the trace id without it. The tracer is the gateway's own, never the process-wide one, so
/// several gateways in one process (as in tests) export apart.
package final class GatewayTracing: Sendable {
    private let tracer: any Tracer
    /// Exports the finished spans in batches; run beside the listeners, flushed at shutdown.
    package let service: any Service

    package init(_ settings: GatewayConfiguration.Telemetry, logger: Logger) throws {
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.propagators = [.traceContext]
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = settings.endpoint
        // Protobuf only: swift-otel's JSON writes trace and span ids in base64, where OTLP's JSON
        // (and every collector) reads hex.
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.batchSpanProcessor.scheduleDelay = .milliseconds(Int64(settings.exportDelaySeconds * 1_000))
        // A collector that does not answer costs a batch at most this, and shutdown the same
        // (the defaults, 10 s and 30 s, would outlast shutdown_grace_seconds).
        configuration.traces.otlpExporter.timeout = .seconds(3)
        configuration.traces.batchSpanProcessor.exportTimeout = .seconds(3)
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        tracer = backend.factory
        service = backend.service
    }

    /// A span in the trace `traceParent` names (with it as parent), or in a new trace.
    package func startSpan(_ name: String, kind: SpanKind, parent traceParent: String?) -> any Span {
        var context = ServiceContext.topLevel
        if let traceParent {
            tracer.extract([TraceParent.header.canonicalName: traceParent], into: &context, using: DictionaryCarrier())
        }
        return tracer.startSpan(name, context: context, ofKind: kind)
    }

    /// The `traceparent` that names `span` as the parent.
    package func traceParent(of span: any Span) -> String? {
        var carrier: [String: String] = [:]
        tracer.inject(span.context, into: &carrier, using: DictionaryCarrier())
        return carrier[TraceParent.header.canonicalName]
    }

    private struct DictionaryCarrier: Extractor, Injector {
        func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    }
}
