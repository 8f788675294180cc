import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

/// An idle gateway costs next to nothing: after it has delivered webhooks, with nothing due and
/// no traffic, its process uses under 0.1 CPU seconds in 3 seconds (issue 25: a cancelled timer
/// rang the delivery loop's doorbell, and the loop spun at about 90 % of a core forever).
@Suite("An idle gateway", .load(.heavy))
struct IdleCostTests {
    @Test func afterDeliveriesAnIdleGatewayUsesAlmostNoCPU() async throws {
        let signer = WebhookSigner.shared
        try await HighLevelSimulator.withRunning { _, simulatorURL in
            try await WebhookSubscriber.withRunning { subscriber, subscriberURL in
                let fixture = try ServeFixture(simulatorURL: simulatorURL, simulator: SimulatorConfiguration(), webhookKey: signer.ed25519PublicPEM)
                fixture.subscribeCRM(to: subscriberURL)
                let (gateway, ports) = try await fixture.start()
                defer { gateway.signal(SIGKILL) }
                let client = ProcessClient(ports: ports)
                for index in 0..<3 {
                    #expect(try await client.postContactCreate().status == 200)
                    try await withTimeout(.seconds(15)) { await subscriber.wait(after: index) }
                }
                #expect(subscriber.received.count == 3)

                // The measured interval, not a wait for something to happen.
                let before = try #require(gateway.cpuSeconds)
                try await Task.sleep(for: .seconds(3))
                let used = try #require(gateway.cpuSeconds) - before
                #expect(used < 0.1, "an idle gateway used \(used) CPU seconds in 3 seconds")
            }
        }
    }
}
