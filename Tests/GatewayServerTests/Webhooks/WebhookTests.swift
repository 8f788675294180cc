import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing
import TokenVault

@testable import GatewayRuntime
@testable import GatewayServer

@Suite("HighLevel webhooks")
struct WebhookTests {
    static let signer = WebhookSigner.shared
    static let appId = SimulatorConfiguration().appId

    static func body(_ fields: [String: Any]) -> Data {
        var payload: [String: Any] = [
            "appId": appId, "webhookId": UUID().uuidString,
            "timestamp": ISO8601DateFormatter().string(from: Date()),
        ]
        payload.merge(fields) { $1 }
        return try! JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])
    }

    enum Signature { case ed25519, rsa, both, none }

    func deliver(
        _ harness: GatewayHarness, _ body: Data, _ signature: Signature = .ed25519, headers extra: [(String, String)] = []
    ) async throws -> GatewayHarness.Answer {
        var headers = [("Content-Type", "application/json")] + extra
        if signature == .ed25519 || signature == .both { headers.append(("x-ghl-signature", Self.signer.ed25519Signature(body))) }
        if signature == .rsa || signature == .both { headers.append(("x-wh-signature", Self.signer.rsaSignature(body))) }
        return try await harness.send("POST", harness.publicURL + "/webhooks/highlevel", headers: headers, body: .init(data: body))
    }

    @Test func validSignaturesOfEitherKindAreAccepted() async throws {
        try await GatewayHarness.run(webhookKeys: Self.signer) { harness in
            for signature in [Signature.ed25519, .rsa, .both] {
                let answer = try await deliver(harness, Self.body(["type": "ContactCreate", "locationId": "locSim0001"]), signature)
                #expect(answer.status == 200, "\(signature)")
                #expect(answer.body == #"{"status":"accepted"}"#)
            }
            let events = try await harness.gateway.vault.webhookEvents(type: "ContactCreate")
            #expect(events.count == 3)
            #expect(events.allSatisfy { $0.event.scopes == ["contacts.readonly"] && $0.event.locationId == "locSim0001" })
        }
    }

    @Test func forgedTamperedOrUnsignedDeliveriesAreRefused() async throws {
        let stranger = WebhookSigner()
        try await GatewayHarness.run(webhookKeys: Self.signer) { harness in
            let body = Self.body(["type": "INSTALL", "installType": "Location", "locationId": "locX", "companyId": "cmpSim0001"])
            var tampered = body
            tampered[tampered.index(tampered.startIndex, offsetBy: 10)] ^= 0x01
            let cases: [(Data, [(String, String)])] = [
                (tampered, [("x-ghl-signature", Self.signer.ed25519Signature(body))]),
                (tampered, [("x-wh-signature", Self.signer.rsaSignature(body))]),
                (body, [("x-ghl-signature", stranger.ed25519Signature(body))]),
                (body, [("x-wh-signature", stranger.rsaSignature(body))]),
                (body, [("x-ghl-signature", "not base64 at all!")]),
                (body, []),
                // Both headers: Ed25519 decides, so a bad Ed25519 signature fails even beside a good RSA one.
                (body, [("x-ghl-signature", stranger.ed25519Signature(body)), ("x-wh-signature", Self.signer.rsaSignature(body))]),
            ]
            for (payload, headers) in cases {
                let answer = try await deliver(harness, payload, .none, headers: headers)
                #expect(answer.status == 401)
                #expect(answer.body.contains("\"code\":\"unauthenticated\""))
            }
            // A good Ed25519 signature wins over a bad RSA one.
            let mixed = try await deliver(
                harness, body, .none,
                headers: [
                    ("x-ghl-signature", Self.signer.ed25519Signature(body)), ("x-wh-signature", stranger.rsaSignature(body)),
                ])
            #expect(mixed.status == 200)
            #expect(try await harness.gateway.vault.installations().map(\.owner) == [.location("locX")])
        }
    }

    @Test func deliveriesForAnotherAppAreAcknowledgedAndIgnored() async throws {
        try await GatewayHarness.run(webhookKeys: Self.signer) { harness in
            let answer = try await deliver(
                harness, Self.body(["type": "INSTALL", "appId": "someone-else", "locationId": "locY", "installType": "Location"]))
            #expect(answer.status == 200)
            #expect(answer.body == #"{"status":"ignored"}"#)
            #expect(try await harness.gateway.vault.installations().isEmpty)
            #expect(harness.logs.text.contains("webhook for another app ignored"))
        }
    }

    @Test func replayedAndStaleDeliveriesAreRefused() async throws {
        try await GatewayHarness.run(webhookKeys: Self.signer) { harness in
            let body = Self.body(["type": "ContactCreate", "locationId": "locSim0001"])
            #expect(try await deliver(harness, body).body == #"{"status":"accepted"}"#)
            let again = try await deliver(harness, body, .rsa)
            #expect(again.status == 200)
            #expect(again.body == #"{"status":"duplicate"}"#)
            #expect(try await harness.gateway.vault.webhookEvents(type: "ContactCreate").count == 1)

            let old = Self.body(["type": "ContactCreate", "timestamp": ISO8601DateFormatter().string(from: Date().addingTimeInterval(-7_200))])
            let stale = try await deliver(harness, old)
            #expect(stale.status == 400)
            let future = Self.body(["type": "ContactCreate", "timestamp": ISO8601DateFormatter().string(from: Date().addingTimeInterval(3_600))])
            #expect(try await deliver(harness, future).status == 400)
            // A timestamp that cannot be read does not skip the age check; nor may an INSTALL omit it.
            for unreadable in ["yesterday", "", "2026-13-45T99:00:00Z"] as [Any] + [["at": 1], [1]] {
                let answer = try await deliver(harness, Self.body(["type": "ContactCreate", "locationId": "locSim0001", "timestamp": unreadable]))
                #expect(answer.status == 400, "\(unreadable)")
                #expect(answer.body.contains("missing or unreadable"), "\(unreadable)")
            }
            var install: [String: Any] = try #require(
                JSONSerialization.jsonObject(
                    with: Self.body(["type": "INSTALL", "installType": "Location", "locationId": "locX", "companyId": "cmpSim0001"]))
                    as? [String: Any])
            install["timestamp"] = nil
            let undated = try await deliver(harness, try JSONSerialization.data(withJSONObject: install))
            #expect(undated.status == 400)
            #expect(try await harness.gateway.vault.webhookEvents(type: "INSTALL").isEmpty)
        }
    }

    @Test func oversizedAndNonJSONBodiesAreRefused() async throws {
        try await GatewayHarness.run(webhookKeys: Self.signer) { harness in
            let big = Data(("{\"type\":\"ContactCreate\",\"pad\":\"" + String(repeating: "p", count: 1_100_000) + "\"}").utf8)
            let large = try await deliver(harness, big)
            #expect(large.status == 413)
            let text = try await deliver(harness, Data("not json".utf8))
            #expect(text.status == 400)
            #expect(text.body.contains("not a JSON object"))
        }
    }

    @Test func aLocationInstallUnderAnAgencyIsExchangedOnce() async throws {
        try await GatewayHarness.run(webhookKeys: Self.signer) { harness in
            try await harness.install()
            let obtained: Set<String> = ["location token obtained after INSTALL"]
            let before = harness.logs.count(obtained)
            let answer = try await deliver(
                harness,
                Self.body([
                    "type": "INSTALL", "installType": "Location", "locationId": "locSim0002", "companyId": "cmpSim0001", "planId": "p1",
                ]))
            #expect(answer.status == 200)
            try await harness.logs.wait(for: obtained, after: before)
            #expect(await harness.simulator.state.exchanges == 1)
            let token = try #require(try await harness.gateway.vault.token(for: .location("locSim0002")))
            #expect(token.record.origin == .exchange)
            #expect(try await harness.gateway.vault.installation(.location("locSim0002"))?.planId == "p1")
        }
    }

    /// A crash right after an INSTALL was stored leaves its follow-up pending with the event; the
    /// worker of the next start does it first, once, and marks it done.
    @Test func anInstallFollowUpCutOffByACrashIsDoneAtTheNextStart() async throws {
        try await GatewayHarness.run(webhookKeys: Self.signer) { harness in
            try await harness.install()
            let vault = harness.gateway.vault
            let event = WebhookEvent(
                webhookId: "wh-install", type: "INSTALL", scopes: [], locationId: "locSim0002", companyId: "cmpSim0001", payload: nil)
            let change = LifecycleChange.install(.location("locSim0002"), companyId: "cmpSim0001", planId: nil, followUp: .exchange)
            #expect(try await vault.rememberWebhook(event, change: change, retention: 3600))
            #expect(try await vault.pendingFollowUps().map(\.webhookId) == ["wh-install"])

            let done: Set<String> = ["INSTALL follow-up done"]
            let before = harness.logs.count(done)
            let gateway = harness.gateway
            let restarted = WebhookWorker(broker: gateway.broker, oauth: gateway.oauth, appId: "app", logger: gateway.logger)
            let running = Task { await restarted.run() }
            try await harness.logs.wait(for: done, after: before)
            running.cancel()
            await running.value
            #expect(await harness.simulator.state.exchanges == 1)
            #expect(try await vault.token(for: .location("locSim0002"))?.record.origin == .exchange)
            #expect(try await vault.pendingFollowUps().isEmpty)
        }
    }

    @Test func anInstallAnnouncedBeforeTheCodeExchangeIsKept() async throws {
        var configuration = SimulatorConfiguration()
        configuration.installer = .location(companyId: "cmpSim0001", locationId: "locEarly")
        try await GatewayHarness.run(configuration, webhookKeys: Self.signer) { harness in
            let answer = try await deliver(
                harness,
                Self.body([
                    "type": "INSTALL", "installType": "Location", "locationId": "locEarly", "companyId": "cmpSim0001",
                ]))
            #expect(answer.status == 200)
            try await harness.install()
            let installation = try #require(try await harness.gateway.vault.installation(.location("locEarly")))
            #expect(installation.status == .installed)
            #expect(installation.grantedScopes == GatewayHarness.installScopes)
            #expect(try await harness.gateway.vault.token(for: .location("locEarly")) != nil)
        }
    }

    @Test func anInstallThatCouldNotBeCarriedOutIsActedOnWhenHighLevelRetries() async throws {
        try await GatewayHarness.run(webhookKeys: Self.signer) { harness in
            // The database refuses the install itself (after the event was remembered).
            try harness.database().execute(
                """
                CREATE TRIGGER refuse_install BEFORE INSERT ON installations WHEN NEW.source = 'webhook'
                BEGIN SELECT RAISE(ABORT, 'refused for the test'); END
                """)
            let body = Self.body(["type": "INSTALL", "installType": "Location", "locationId": "locRetry", "companyId": "cmpSim0001"])
            let refused = try await deliver(harness, body)
            #expect(refused.status == 429)
            #expect(try await harness.gateway.vault.installation(.location("locRetry")) == nil)
            try harness.database().execute("DROP TRIGGER refuse_install")
            // HighLevel's retry, same webhookId: acted on, not taken for a repeat.
            let retried = try await deliver(harness, body)
            #expect(retried.status == 200)
            #expect(try await harness.gateway.vault.installation(.location("locRetry"))?.source == .webhook)
            #expect(try await deliver(harness, body).status == 200)
            #expect(try await harness.gateway.vault.webhookEvents(type: "INSTALL").count == 1)
        }
    }

    @Test func uninstallShredsTokensAndLaterCallsAreNotInstalled() async throws {
        let client = TestClient("svc")
        try await GatewayHarness.run(clients: ["svc": client.policy(allow: ["contacts.readonly"])], webhookKeys: Self.signer) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/a", key: client.key).status == 200)
            let sealed = try harness.database().sealedAccessToken(.location("locSim0001"))

            let answer = try await deliver(
                harness, Self.body(["type": "UNINSTALL", "installType": "Location", "locationId": "locSim0001", "companyId": "cmpSim0001"]))
            #expect(answer.status == 200)
            #expect(try await harness.gateway.vault.token(for: .location("locSim0001")) == nil)
            let denied = try await harness.proxy("GET", "/contacts/a", key: client.key)
            #expect(denied.status == 403)
            #expect(denied.body.contains("\"code\":\"not_installed\""))
            let rows = try await TokenInventory(vault: harness.gateway.vault).rows()
            #expect(rows.first { $0.locationId == "locSim0001" }?.status == "revoked")
            #expect(await harness.simulator.state.exchanges == 1)
            // The token's ciphertext is gone from the file, not just flagged.
            try harness.database().checkpoint()
            let bytes = harness.directory.bytes(ofDatabase: "gateway.sqlite")
            #expect(sealed.count > 40)
            #expect(bytes.range(of: sealed) == nil)
        }
    }

    @Test func eventPayloadsAreKeptSealed() async throws {
        try await GatewayHarness.run(webhookKeys: Self.signer) { harness in
            let marker = "contact-email-\(UUID().uuidString)@example.com"
            let body = Self.body(["type": "ContactCreate", "locationId": "locSim0001", "email": marker])
            #expect(try await deliver(harness, body).status == 200)
            let stored = try #require(try await harness.gateway.vault.webhookEvents(type: "ContactCreate").first)
            #expect(stored.event.payload == body)
            #expect(harness.directory.bytes(ofDatabase: "gateway.sqlite").range(of: Data(marker.utf8)) == nil)
        }
    }

    @Test func theDefaultKeyIsHighLevelsAndRefusesEveryOtherSigner() async throws {
        // Nothing configured: HighLevel's published Ed25519 key verifies, and RSA is off.
        try await GatewayHarness.run { harness in
            let body = Self.body(["type": "INSTALL", "installType": "Location", "locationId": "locZ", "companyId": "cmpSim0001"])
            for signature in [Signature.ed25519, .rsa, .both] {
                let answer = try await deliver(harness, body, signature)
                #expect(answer.status == 401, "\(signature)")
            }
            #expect(try await deliver(harness, body, .rsa).body.contains("missing webhook signature"))
            #expect(try await harness.gateway.vault.installations().isEmpty)
        }
    }

    @Test func aConfiguredListOfKeysAcceptsEachOfThem() async throws {
        let directory = TemporaryDirectory()
        let published = directory.write("published.pem", GatewayConfiguration.HighLevel.publishedEd25519PEM)
        let ours = directory.write("ours.pem", Self.signer.ed25519PublicPEM)
        try await GatewayHarness.run(highlevelConfiguration: "webhook_ed25519_public_key: [file:\(published), file:\(ours)]") { harness in
            let answer = try await deliver(harness, Self.body(["type": "ContactCreate", "locationId": "locSim0001"]))
            #expect(answer.status == 200)
            #expect(
                try await deliver(
                    harness, Self.body(["type": "ContactCreate"]), .none,
                    headers: [
                        ("x-ghl-signature", WebhookSigner().ed25519Signature(Self.body(["type": "ContactCreate"])))
                    ]
                ).status == 401)
            #expect(try await harness.metric(#"ghl_gateway_webhook_signatures_total{scheme="ed25519"}"#) == 1)
        }
    }

    @Test func legacyRSAIsVerifiedOnlyWhenConfiguredAndCounted() async throws {
        let logs = LogCapture()
        try await GatewayHarness.run(webhookKeys: Self.signer, logs: logs) { harness in
            let answer = try await deliver(harness, Self.body(["type": "ContactCreate", "locationId": "locSim0001"]), .rsa)
            #expect(answer.status == 200)
            #expect(try await harness.metric(#"ghl_gateway_webhook_signatures_total{scheme="rsa_legacy"}"#) == 1)
            #expect(try await harness.metric(#"ghl_gateway_webhook_signatures_total{scheme="ed25519"}"#) == 0)
            #expect(logs.text.contains("legacy RSA signature"))
        }
    }
}
