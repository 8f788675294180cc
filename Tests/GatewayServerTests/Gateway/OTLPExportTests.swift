import Foundation
import GatewayRuntime
import GatewayTestSupport
import HighLevelSimulator
import Synchronization
import Testing

/// The gateway's spans, sent to a real OTLP/HTTP collector on loopback (`telemetry:`).
@Suite("OpenTelemetry export")
struct OTLPExportTests {
    static func telemetry(_ url: String) -> String {
        "telemetry:\n  otlp_endpoint: \(url)\n  service_name: gw-under-test\n  export_delay_seconds: 0.05"
    }

    @Test func aProxiedRequestIsASpanUnderTheCallersSpan() async throws {
        try await OTLPCollector.withRunning { collector, url in
            let client = TestClient("c")
            let logs = LogCapture()
            try await GatewayHarness.run(
                clients: ["c": client.policy(allow: ["contacts.readonly"])], extraConfiguration: Self.telemetry(url), logs: logs
            ) { harness in
                try await harness.install()
                let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                #expect(try await harness.proxy("GET", "/contacts/a", key: client.key, headers: [("traceparent", caller)]).status == 200)
                #expect(try await harness.proxy("GET", "/invoices/x?locationId=locSim0001", key: client.key).status == 403)

                let allowed = try #require(try await collector.wait(for: 1) { $0.name == "GET /contacts/:contactId" }.first)
                #expect(allowed.traceId == "4bf92f3577b34da6a3ce929d0e0e4736" && allowed.parentSpanId == "00f067aa0ba902b7")
                #expect(allowed.kind == 2 && allowed.serviceName == "gw-under-test")
                #expect(allowed.attributes["http.route"] == "/contacts/:contactId" && allowed.attributes["ghl.client"] == "c")
                #expect(allowed.attributes["http.response.status_code"] == "200" && allowed.attributes["ghl.decision"] == "allow")
                // The log line names the exported span.
                #expect(logs.text.contains("spanId=\(allowed.spanId)"))
                // A refused request without a traceparent starts a trace of its own.
                let denied = try #require(try await collector.wait(for: 1) { $0.name == "GET /invoices/:invoiceId" }.first)
                #expect(denied.parentSpanId.isEmpty && denied.traceId != allowed.traceId)
                #expect(denied.attributes["ghl.error.code"] == "policy_denied" && denied.attributes["http.response.status_code"] == "403")
                // HighLevel is sent the caller's header as it was: the gateway's span is not a hop it can see.
                let forwarded = await harness.simulator.state.calls.last?.headers.first { $0.name.lowercased() == "traceparent" }?.value
                #expect(forwarded == caller)
            }
        }
    }

    @Test func anEventsReceiptAndEachDeliveryAreSpansOfOneTrace() async throws {
        try await OTLPCollector.withRunning { collector, url in
            try await WebhookSubscriber.withRunning { subscriber, subscriberURL in
                let directory = TemporaryDirectory()
                let subscription = WebhookFanOutTests.subscriber(TestClient("crm"), directory, url: subscriberURL, events: "[ContactCreate]")
                try await GatewayHarness.run(
                    directory: directory, clients: ["crm": subscription], extraConfiguration: Self.telemetry(url),
                    webhookKeys: WebhookFanOutTests.signer
                ) { harness in
                    let body = WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001"])
                    let sent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                    let answer = try await harness.send(
                        "POST", harness.publicURL + "/webhooks/highlevel",
                        headers: [("x-ghl-signature", WebhookFanOutTests.signer.ed25519Signature(body)), ("traceparent", sent)],
                        body: .init(data: body))
                    #expect(answer.status == 200)
                    try await withTimeout(.seconds(10)) { await subscriber.wait(after: 0) }

                    let receipt = try #require(try await collector.wait(for: 1) { $0.name == "POST /webhooks/highlevel" }.first)
                    #expect(receipt.traceId == "0af7651916cd43dd8448eb211c80319c" && receipt.parentSpanId == "b7ad6b7169203331")
                    #expect(receipt.attributes["ghl.webhook.outcome"] == "accepted")
                    let delivery = try #require(try await collector.wait(for: 1) { $0.name == "webhook delivery ContactCreate" }.first)
                    #expect(delivery.kind == 3 && delivery.traceId == receipt.traceId && delivery.parentSpanId == receipt.spanId)
                    #expect(delivery.attributes["ghl.client"] == "crm" && delivery.attributes["http.response.status_code"] == "200")
                    // The subscriber is told the delivery's span as its parent.
                    let header = try #require(subscriber.received.first?.headers["traceparent"].flatMap { TraceParent($0) })
                    #expect(header.traceId == receipt.traceId && header.parentId == delivery.spanId)
                }
            }
        }
    }

    @Test func aCollectorThatNeverAnswersDelaysNeitherRequestsNorShutdownBeyondItsTimeout() async throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let client = TestClient("c")
        let clock = ContinuousClock()
        let stopping = Mutex<ContinuousClock.Instant?>(nil)
        try await GatewayHarness.run(
            clients: ["c": client.policy(allow: ["contacts.readonly"])],
            extraConfiguration: Self.telemetry("http://127.0.0.1:\(silent.port)/v1/traces")
        ) { harness in
            try await harness.install()
            // A request that waited for the export would take its whole timeout (3 s): all twenty,
            // not the one a loaded machine delays.
            var durations: [Duration] = []
            for _ in 0..<20 {
                let started = clock.now
                #expect(try await harness.proxy("GET", "/contacts/a", key: client.key).status == 200)
                durations.append(clock.now - started)
            }
            #expect(durations.sorted()[10] < .seconds(1), "\(durations)")
            #expect(durations.reduce(.zero, +) < .seconds(20), "\(durations)")
            stopping.withLock { $0 = clock.now }
        }
        let stopped = try #require(stopping.withLock { $0 }).duration(to: clock.now)
        #expect(stopped < .seconds(10), "shutdown took \(stopped)")
    }
}
