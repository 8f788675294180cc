import Foundation
import GatewayRuntime
import GatewayTestSupport
import HighLevelSimulator
import Testing
import TokenVault

/// HighLevel's events delivered to the internal services that subscribe to them.
@Suite("Webhook fan-out")
struct WebhookFanOutTests {
    static let signer = WebhookSigner.shared
    static let secret = "whsec_" + Data((0..<32).map { UInt8($0 * 5 % 256) }).base64EncodedString()

    /// A client policy with a `webhooks:` subscription whose secret is a file in `directory`.
    static func subscriber(
        _ client: TestClient, _ directory: TemporaryDirectory, url: String, locations: [String] = ["locSim0001"],
        allow: [String] = ["contacts.readonly"], events: String
    ) -> String {
        client.policy(locations: locations, allow: allow) + """

            webhooks:
              url: \(url)
              secret: file:\(directory.write("secret-\(client.name)", Self.secret))
              events: \(events)
            """
    }

    static func deliver(_ harness: GatewayHarness, _ body: Data) async throws -> GatewayHarness.Answer {
        try await harness.send(
            "POST", harness.publicURL + "/webhooks/highlevel",
            headers: [("Content-Type", "application/json"), ("x-ghl-signature", signer.ed25519Signature(body))], body: .init(data: body))
    }

    static let fast = "webhooks:\n  delivery_retry_seconds: [0.05, 0.05]"

    @Test func anEventReachesItsSubscriberSignedAndByteForByte() async throws {
        try await WebhookSubscriber.withRunning { subscriber, url in
            let directory = TemporaryDirectory()
            let client = TestClient("crm")
            let logs = LogCapture()
            try await GatewayHarness.run(
                directory: directory, clients: ["crm": Self.subscriber(client, directory, url: url, events: "[ContactCreate]")],
                webhookKeys: Self.signer, logs: logs
            ) { harness in
                let body = WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001", "email": "ada@example.com"])
                #expect(try await Self.deliver(harness, body).status == 200)
                try await withTimeout(.seconds(10)) { await subscriber.wait(after: 0) }
                let received = try #require(subscriber.received.first)
                #expect(received.body == body)
                #expect(received.headers["content-type"] == "application/json")
                #expect(received.headers["x-ghl-event-type"] == "ContactCreate")
                let id = try #require(received.headers["webhook-id"])
                let timestamp = try #require(received.headers["webhook-timestamp"].flatMap { Int($0) })
                #expect(id.hasPrefix("msg_"))
                #expect(abs(timestamp - Int(Date().timeIntervalSince1970)) < 60)
                // Verified by an independent HMAC implementation (Python's), as a subscriber would.
                let bodyFile = directory.write("received.json", String(decoding: received.body, as: UTF8.self))
                let script = """
                    import base64, hashlib, hmac, sys
                    key = base64.b64decode(sys.argv[1][len("whsec_"):])
                    body = open(sys.argv[4], "rb").read()
                    print("v1," + base64.b64encode(hmac.new(key, (sys.argv[2] + "." + sys.argv[3] + ".").encode() + body, hashlib.sha256).digest()).decode())
                    """
                let expected = try await ChildProcess.run("/usr/bin/env", ["python3", "-c", script, Self.secret, id, String(timestamp), bodyFile])
                #expect(received.headers["webhook-signature"] == expected.text.trimmingCharacters(in: .whitespacesAndNewlines))
                // Nothing of HighLevel's or the gateway's credentials goes along.
                #expect(received.headers["x-ghl-signature"] == nil && received.headers["authorization"] == nil)
                try await logs.wait(for: ["webhook delivery delivered"], after: 0)
                let rows = try await harness.gateway.vault.deliveries(client: "crm")
                #expect(rows.map(\.status) == ["delivered"])
                #expect(!logs.text.contains(Self.secret) && !logs.text.contains("ada@example.com"))
            }
        }
    }

    @Test func aDeliveryCarriesItsEventsTraceWithTheReceiptAsParent() async throws {
        try await WebhookSubscriber.withRunning { subscriber, url in
            let directory = TemporaryDirectory()
            let logs = LogCapture()
            try await GatewayHarness.run(
                directory: directory, clients: ["crm": Self.subscriber(TestClient("crm"), directory, url: url, events: "[ContactCreate]")],
                webhookKeys: Self.signer, logs: logs
            ) { harness in
                let sent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                let traced = WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001", "webhookId": "traced"])
                let answer = try await harness.send(
                    "POST", harness.publicURL + "/webhooks/highlevel",
                    headers: [("x-ghl-signature", Self.signer.ed25519Signature(traced)), ("traceparent", sent)], body: .init(data: traced))
                #expect(answer.status == 200)
                try await withTimeout(.seconds(10)) { await subscriber.wait(after: 0) }
                #expect(try await Self.deliver(harness, WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001"])).status == 200)
                try await withTimeout(.seconds(10)) { await subscriber.wait(after: 1) }

                let received = subscriber.received.compactMap { $0.headers["traceparent"] }
                #expect(received.count == 2)
                let first = try #require(received.first.flatMap { TraceParent($0) })
                #expect(first.traceId == "4bf92f3577b34da6a3ce929d0e0e4736" && first.parentId != "00f067aa0ba902b7")
                let second = try #require(received.last.flatMap { TraceParent($0) })
                #expect(second.traceId != first.traceId)
                // The receipt's log line names the span each delivery gives as its parent.
                for trace in [first, second] {
                    #expect(logs.text.contains("spanId=\(trace.parentId)") && logs.text.contains("traceId=\(trace.traceId)"))
                }
            }
        }
    }

    @Test func theSubscribersFollowScopeLocationAndEventList() async throws {
        let directory = TemporaryDirectory()
        let url = "http://127.0.0.1:9/unused"
        let clients = [
            "named": Self.subscriber(TestClient("named"), directory, url: url, events: "[ContactCreate]"),
            "star": Self.subscriber(TestClient("star"), directory, url: url, locations: ["*"], events: "[\"*\"]"),
            "elsewhere": Self.subscriber(TestClient("elsewhere"), directory, url: url, locations: ["locOther"], events: "[ContactCreate]"),
            "other-type": Self.subscriber(TestClient("other-type"), directory, url: url, events: "[ContactDelete]"),
            "no-scope": Self.subscriber(
                TestClient("no-scope"), directory, url: url, allow: ["opportunities.readonly"], events: "[\"*\"]"),
            "lifecycle": Self.subscriber(TestClient("lifecycle"), directory, url: url, locations: ["*"], events: "[INSTALL]"),
            "no-webhooks": TestClient("no-webhooks").policy(allow: ["contacts.readonly"]),
        ]
        try await GatewayHarness.run(
            directory: directory, clients: clients, extraConfiguration: "webhooks:\n  delivery_retry_seconds: [3600]", webhookKeys: Self.signer
        ) { harness in
            let contact = WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001"])
            #expect(try await Self.deliver(harness, contact).status == 200)
            let install = WebhookTests.body(["type": "INSTALL", "installType": "Location", "locationId": "locSim0009", "companyId": "cmpSim0001"])
            #expect(try await Self.deliver(harness, install).status == 200)
            let rows = try await harness.gateway.vault.deliveries()
            #expect(Set(rows.filter { $0.type == "ContactCreate" }.map(\.client)) == ["named", "star"])
            #expect(rows.filter { $0.type == "INSTALL" }.map(\.client) == ["lifecycle"])
            // The same webhookId again is not fanned out twice.
            #expect(try await Self.deliver(harness, contact).body == #"{"status":"duplicate"}"#)
            #expect(try await harness.gateway.vault.deliveries().count == rows.count)
        }
    }

    @Test func aRefusedDeliveryIsRetriedOnTheScheduleThenDelivered() async throws {
        try await WebhookSubscriber.withRunning { subscriber, url in
            let directory = TemporaryDirectory()
            subscriber.answer([500, 503])
            try await GatewayHarness.run(
                directory: directory, clients: ["crm": Self.subscriber(TestClient("crm"), directory, url: url, events: "[ContactCreate]")],
                extraConfiguration: Self.fast, webhookKeys: Self.signer
            ) { harness in
                #expect(try await Self.deliver(harness, WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001"])).status == 200)
                try await harness.logs.wait(for: ["webhook delivery delivered"], after: 0)
                #expect(subscriber.received.count == 3)
                #expect(Set(subscriber.received.compactMap { $0.headers["webhook-id"] }).count == 1, "one id across retries")
                let row = try #require(try await harness.gateway.vault.deliveries(client: "crm").first)
                #expect(row.status == "delivered" && row.attempts == 3 && row.lastStatus == 200)
            }
        }
    }

    @Test func aDeliveryOutOfRetriesFailsAndA410DisablesTheSubscriber() async throws {
        try await WebhookSubscriber.withRunning { subscriber, url in
            let directory = TemporaryDirectory()
            subscriber.answer([500, 500, 500, 410])
            try await GatewayHarness.run(
                directory: directory, clients: ["crm": Self.subscriber(TestClient("crm"), directory, url: url, events: "[ContactCreate]")],
                extraConfiguration: Self.fast, webhookKeys: Self.signer
            ) { harness in
                let failed: Set<String> = ["webhook delivery failed after every retry"]
                #expect(try await Self.deliver(harness, WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001"])).status == 200)
                try await harness.logs.wait(for: failed, after: 0)
                #expect(try await harness.gateway.vault.deliveries(client: "crm", status: "failed").first?.attempts == 3)

                let gone: Set<String> = ["webhook subscriber answered 410 Gone: its deliveries are disabled until its policy changes"]
                #expect(try await Self.deliver(harness, WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001"])).status == 200)
                try await harness.logs.wait(for: gone, after: 0)
                let dropped: Set<String> = ["webhook delivery dropped: the subscriber answered 410 Gone earlier; disabled until its policy changes"]
                #expect(try await Self.deliver(harness, WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001"])).status == 200)
                try await harness.logs.wait(for: dropped, after: 0)
                #expect(subscriber.received.count == 4, "nothing is sent to a subscriber that answered 410")
                // Operators see it: readiness (still ready), the webhook health, the metrics.
                let ready = try await harness.admin("GET", "/readyz", token: nil)
                #expect(ready.status == 200)
                #expect(ready.body.contains(#""webhooks":{"disabledSubscribers":["crm"],"ok":true}"#), "\(ready.body)")
                let health = try await harness.admin("GET", "/health/webhooks")
                #expect(health.body.contains(#"{"client":"crm","disabled":true,"failed":3,"pending":0}"#), "\(health.body)")
                #expect(try await harness.metric(#"ghl_gateway_webhook_deliveries_total{client="crm",outcome="gone"}"#) == 1)
                #expect(try await harness.metric(#"ghl_gateway_webhook_deliveries_total{client="crm",outcome="retry"}"#) == 2)
                #expect(try await harness.metric(#"ghl_gateway_webhook_pending{client="crm"}"#) == 0)
            }
        }
    }

    @Test func operatorsListAndRetryDeliveries() async throws {
        try await WebhookSubscriber.withRunning { subscriber, url in
            let directory = TemporaryDirectory()
            subscriber.answer([500, 500, 500, 500, 500, 500])
            try await GatewayHarness.run(
                directory: directory, clients: ["crm": Self.subscriber(TestClient("crm"), directory, url: url, events: "[ContactCreate]")],
                extraConfiguration: Self.fast, webhookKeys: Self.signer
            ) { harness in
                let failed: Set<String> = ["webhook delivery failed after every retry"]
                for _ in 0..<2 {
                    let before = harness.logs.count(failed)
                    #expect(try await Self.deliver(harness, WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001"])).status == 200)
                    try await harness.logs.wait(for: failed, after: before)
                }
                #expect(try await harness.admin("GET", "/webhooks/deliveries", token: nil).status == 401)
                let listed = try await harness.admin("GET", "/webhooks/deliveries?client=crm&status=failed")
                #expect(listed.status == 200)
                let object = try #require(try JSONSerialization.jsonObject(with: Data(listed.body.utf8)) as? [String: [[String: Any]]])
                let rows = try #require(object["deliveries"])
                #expect(rows.count == 2)
                #expect(
                    rows.allSatisfy { $0["attempts"] as? Int == 3 && $0["lastStatus"] as? Int == 500 && $0["type"] as? String == "ContactCreate" })
                let id = try #require(rows.first?["id"] as? Int)

                let delivered: Set<String> = ["webhook delivery delivered"]
                #expect(try await harness.admin("POST", "/webhooks/deliveries/\(id)/retry").status == 200)
                try await harness.logs.wait(for: delivered, after: 0)
                #expect(try await harness.admin("POST", "/webhooks/deliveries/999999/retry").status == 400)

                let range = try await harness.admin("POST", "/webhooks/deliveries/retry?client=crm&since=2000-01-01T00:00:00Z")
                #expect(range.body == #"{"retried":1}"#)
                try await harness.logs.wait(for: delivered, after: 1)
                #expect(try await harness.gateway.vault.deliveries(client: "crm", status: "delivered").count == 2)
                let metrics = try await harness.admin("GET", "/metrics", token: nil).body
                #expect(metrics.contains("ghl_gateway_webhook_delivery_seconds_count 2"), "\(metrics)")
            }
        }
    }

    @Test(.load(.timed)) func aDeadSubscriberDelaysNeitherAnotherNorTheAnswerToHighLevel() async throws {
        let dead = try SilentListener()
        defer { dead.close() }
        try await WebhookSubscriber.withRunning { alive, url in
            let directory = TemporaryDirectory()
            let clients = [
                "dead": Self.subscriber(TestClient("dead"), directory, url: "http://127.0.0.1:\(dead.port)/events", events: "[ContactCreate]"),
                "alive": Self.subscriber(TestClient("alive"), directory, url: url, events: "[ContactCreate]"),
            ]
            let timeouts: Set<String> = ["webhook delivery attempt failed (timed out); retried later"]
            try await GatewayHarness.run(
                directory: directory, clients: clients,
                extraConfiguration: "webhooks:\n  delivery_timeout_seconds: 4\n  delivery_retry_seconds: [3600]", webhookKeys: Self.signer
            ) { harness in
                for index in 0..<10 {
                    let started = ContinuousClock.now
                    let body = WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001", "n": index])
                    #expect(try await Self.deliver(harness, body).status == 200)
                    #expect(ContinuousClock.now - started < .seconds(2), "HighLevel's answer waits for no subscriber")
                }
                try await withTimeout(.milliseconds(3500)) { await alive.wait(after: 9) }
                // Every delivery to the live subscriber arrived while the dead one still held its first attempts.
                #expect(alive.received.count == 10)
                #expect(harness.logs.count(timeouts) == 0)
            }
        }
    }

    @Test func theCommandLineListsAndRetriesDeliveries() async throws {
        let directory = TemporaryDirectory()
        try await GatewayHarness.run(
            directory: directory,
            clients: ["crm": Self.subscriber(TestClient("crm"), directory, url: "http://127.0.0.1:9/events", events: "[ContactCreate]")],
            extraConfiguration: "webhooks:\n  delivery_retry_seconds: []", webhookKeys: Self.signer
        ) { harness in
            #expect(try await Self.deliver(harness, WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001"])).status == 200)
            try await harness.logs.wait(for: ["webhook delivery failed after every retry"], after: 0)
        }
        let config = directory.file("gateway.yaml")
        let listed = try await ChildProcess.run(ServeFixture.binary, ["webhooks", "list", "--config", config, "--status", "failed"])
        #expect(listed.status == 0)
        let row = try #require(listed.text.split(separator: "\n").dropFirst().first?.split(separator: "\t"))
        #expect(row.count == 7 && row[1] == "crm" && row[2] == "ContactCreate" && row[3] == "failed" && row[4] == "1")
        let retried = try await ChildProcess.run(ServeFixture.binary, ["webhooks", "retry", "--config", config, "--id", String(row[0])])
        #expect(retried.text == "queued delivery \(row[0]) again\n")
        let pending = try await ChildProcess.run(ServeFixture.binary, ["webhooks", "list", "--config", config, "--status", "pending"])
        #expect(pending.text.contains("\tcrm\tContactCreate\tpending\t0\t"))
        #expect(try await ChildProcess.run(ServeFixture.binary, ["webhooks", "retry", "--config", config, "--id", "99999"]).status == 1)
    }

    @Test func aStorageFailureAsksHighLevelToRetry() async throws {
        let directory = TemporaryDirectory()
        try await GatewayHarness.run(
            directory: directory,
            clients: ["crm": Self.subscriber(TestClient("crm"), directory, url: "http://127.0.0.1:9/", events: "[ContactCreate]")],
            webhookKeys: Self.signer, busyTimeoutSeconds: 0.2
        ) { harness in
            let answer = try await harness.database().holdingWriteLock {
                try await Self.deliver(harness, WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001"]))
            }
            #expect(answer.status == 429)
            #expect(answer.headers["retry-after"] == "5")
            #expect(try await harness.gateway.vault.deliveries().isEmpty)
        }
    }

    @Test func aPendingDeliveryIsMadeAfterARestart() async throws {
        let directory = TemporaryDirectory()
        let client = TestClient("crm")
        let body = WebhookTests.body(["type": "ContactCreate", "locationId": "locSim0001"])
        // Nothing listens at the first URL: the delivery stays pending, due in an hour.
        try await GatewayHarness.run(
            directory: directory, clients: ["crm": Self.subscriber(client, directory, url: "http://127.0.0.1:9/events", events: "[ContactCreate]")],
            extraConfiguration: "webhooks:\n  delivery_retry_seconds: [3600]", webhookKeys: Self.signer
        ) { harness in
            #expect(try await Self.deliver(harness, body).status == 200)
            try await harness.logs.wait(for: ["webhook delivery attempt failed (connection failed); retried later"], after: 0)
            #expect(try await harness.gateway.vault.deliveries().first?.status == "pending")
        }
        try harness(directory).execute("UPDATE webhook_deliveries SET next_attempt_at = 0")
        try await WebhookSubscriber.withRunning { subscriber, url in
            try await GatewayHarness.run(
                directory: directory, clients: ["crm": Self.subscriber(client, directory, url: url, events: "[ContactCreate]")],
                webhookKeys: Self.signer
            ) { harness in
                try await withTimeout(.seconds(10)) { await subscriber.wait(after: 0) }
                #expect(subscriber.received.first?.body == body)
            }
        }
    }

    private func harness(_ directory: TemporaryDirectory) throws -> TestDatabase {
        try TestDatabase(path: directory.file("gateway.sqlite"))
    }
}
