import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

/// `kill -9` with an event stored but not yet delivered: after a restart it is delivered.
@Suite("Crashes with a pending webhook delivery", .load(.heavy))
struct WebhookCrashTests {
    @Test func aDeliveryPendingAtAKillIsMadeAfterRestart() async throws {
        let signer = WebhookSigner.shared
        let dead = try SilentListener()
        defer { dead.close() }
        try await HighLevelSimulator.withRunning { _, simulatorURL in
            try await WebhookSubscriber.withRunning { subscriber, subscriberURL in
                let fixture = try ServeFixture(
                    simulatorURL: simulatorURL, simulator: SimulatorConfiguration(), webhookKey: signer.ed25519PublicPEM,
                    extra: "webhooks: {delivery_timeout_seconds: 60}")
                // The subscriber is unreachable: the delivery is stored, then the gateway dies.
                fixture.subscribeCRM(to: "http://127.0.0.1:\(dead.port)/events")
                let (first, ports) = try await fixture.start()
                let (status, body) = try await ProcessClient(ports: ports).postContactCreate()
                #expect(status == 200)
                first.signal(SIGKILL)
                #expect(await first.exit() == -SIGKILL)
                #expect(subscriber.received.isEmpty)

                fixture.subscribeCRM(to: subscriberURL)
                let (second, _) = try await fixture.start()
                defer { second.signal(SIGKILL) }
                try await withTimeout(.seconds(15)) { await subscriber.wait(after: 0) }
                #expect(subscriber.received.first?.body == body)
                #expect(try TestDatabase(path: fixture.directory.file("gateway.sqlite")).integrityCheck() == "ok")
            }
        }
    }
}
