import Foundation
import HighLevelSimulator

/// The webhook side of a `serve` process under test: a subscribing client and HighLevel's events.
extension ServeFixture {
    /// Writes the `crm` client's policy: contacts.readonly for locSim0001, subscribed to
    /// ContactCreate at `url` with a `whsec_` secret kept in a file.
    package func subscribeCRM(to url: String) {
        let secret = directory.write("crm-secret", "whsec_" + Data(repeating: 4, count: 32).base64EncodedString())
        directory.write(
            "policies/clients/crm.yaml",
            TestClient("crm").policy(allow: ["contacts.readonly"]) + """

                webhooks:
                  url: \(url)
                  secret: file:\(secret)
                  events: [ContactCreate]
                """)
    }
}

extension ProcessClient {
    /// Posts a ContactCreate for locSim0001 to the public listener, signed as HighLevel signs it
    /// (`WebhookSigner.shared`); returns the status and the exact body sent.
    package func postContactCreate(webhookId: String = UUID().uuidString) async throws -> (status: Int, body: Data) {
        let body = try JSONSerialization.data(
            withJSONObject: [
                "type": "ContactCreate", "locationId": "locSim0001", "webhookId": webhookId, "appId": SimulatorConfiguration().appId,
                "timestamp": ISO8601DateFormatter().string(from: Date()),
            ], options: [.sortedKeys])
        let answer = try await send(
            url("public", "/webhooks/highlevel"), method: "POST",
            headers: [("Content-Type", "application/json"), ("x-ghl-signature", WebhookSigner.shared.ed25519Signature(body))], body: body)
        return (answer.status, body)
    }
}
