import Foundation
import GatewayPolicy
import GatewayTestSupport
import HighLevelSimulator
import Testing
import TokenVault

/// Every event HighLevel documents can be subscribed to and reaches its subscriber; one that no
/// client subscribes to is stored and counted where an operator looks, never dropped unseen.
@Suite("Webhook event types")
struct WebhookEventTypeTests {
    /// The scope that entitles a client to each of HighLevel's events, from the shipped catalog.
    static func entitlingScopes() throws -> Set<String> {
        let root = GatewayHarness.repositoryRoot + "/"
        let catalog = try CatalogLoader.load(
            tablePath: root + CatalogLoader.defaultTablePath, overridesPath: root + CatalogLoader.defaultOverridesPath,
            overridesRequired: true)
        return Set(HighLevelWebhookEvents.all.compactMap { catalog.events[$0]?.first })
    }

    @Test func everyEventHighLevelSendsReachesASubscriberOrIsCountedAsUnrouted() async throws {
        let events = HighLevelWebhookEvents.all.filter { !PolicyLoader.lifecycleEvents.contains($0) }
        let allow = try Self.entitlingScopes().sorted()
        try await WebhookSubscriber.withRunning { subscriber, url in
            let directory = TemporaryDirectory()
            let client = TestClient("everything")
            let policy = WebhookFanOutTests.subscriber(client, directory, url: url, allow: allow, events: #"["*"]"#)
            try await GatewayHarness.run(directory: directory, clients: ["everything": policy], webhookKeys: WebhookSigner.shared) { harness in
                for type in events {
                    let answer = try await WebhookFanOutTests.deliver(harness, WebhookTests.body(["type": type, "locationId": "locSim0001"]))
                    #expect(answer.status == 200, "\(type): \(answer.body)")
                }
                try await withTimeout(.seconds(30)) { await subscriber.wait(after: events.count - 1) }
                let received = Set(subscriber.received.compactMap { $0.headers["x-ghl-event-type"] })
                #expect(received == Set(events))
                let quiet = try await harness.admin("GET", "/health/webhooks")
                #expect(quiet.body.contains(#""unrouted":{}"#), "\(quiet.body)")

                // A location no client serves: stored, answered 200, and counted where it shows.
                let answer = try await WebhookFanOutTests.deliver(harness, WebhookTests.body(["type": "ContactUpdate", "locationId": "locNobody"]))
                #expect(answer.status == 200)
                let health = try await harness.admin("GET", "/health/webhooks")
                #expect(health.body.contains(#""unrouted":{"ContactUpdate":1}"#), "\(health.body)")
                let metrics = try await harness.admin("GET", "/metrics", token: nil)
                #expect(metrics.body.contains(#"ghl_gateway_webhooks_unrouted_total{type="ContactUpdate"} 1"#))
                #expect(subscriber.received.count == events.count)
            }
        }
    }

    /// HighLevel spells the install events both ways; each is acted on.
    @Test func appInstallAndAppUninstallAreActedOnAsInstallAndUninstall() async throws {
        try await GatewayHarness.run(webhookKeys: WebhookSigner.shared) { harness in
            try await harness.install()
            let install = WebhookTests.body(["type": "AppInstall", "installType": "Location", "locationId": "locSim0002", "companyId": "cmpSim0001"])
            #expect(try await WebhookFanOutTests.deliver(harness, install).status == 200)
            #expect(try await harness.gateway.vault.installation(.location("locSim0002"))?.status == .installed)
            let uninstall = WebhookTests.body([
                "type": "AppUninstall", "installType": "Location", "locationId": "locSim0002", "companyId": "cmpSim0001",
            ])
            #expect(try await WebhookFanOutTests.deliver(harness, uninstall).status == 200)
            #expect(try await harness.gateway.vault.installation(.location("locSim0002"))?.status == .uninstalled)
        }
    }
}
