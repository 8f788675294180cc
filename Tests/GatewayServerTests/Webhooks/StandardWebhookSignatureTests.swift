import Crypto
import Foundation
import GatewayPolicy
import Testing

@testable import GatewayServer

@Suite("Standard Webhooks signature")
struct StandardWebhookSignatureTests {
    let current = WebhookSecret("whsec_" + Data(repeating: 1, count: 32).base64EncodedString())!
    let previous = WebhookSecret("whsec_" + Data(repeating: 2, count: 24).base64EncodedString())!

    @Test func oneEntryPerSecretDuringARotation() {
        let body = Data(#"{"type":"ContactCreate"}"#.utf8)
        let header = StandardWebhookSignature.header(id: "msg_1", timestamp: 1_700_000_000, body: body, secrets: [current, previous])
        let entries = header.split(separator: " ").map(String.init)
        #expect(entries.count == 2)
        for (entry, secret) in zip(entries, [current, previous]) {
            let mac = HMAC<SHA256>.authenticationCode(for: Data("msg_1.1700000000.".utf8) + body, using: SymmetricKey(data: secret.key))
            #expect(entry == "v1," + Data(mac).base64EncodedString())
        }
        // Another body, id or time signs differently.
        #expect(StandardWebhookSignature.header(id: "msg_2", timestamp: 1_700_000_000, body: body, secrets: [current]) != entries[0])
        #expect(StandardWebhookSignature.header(id: "msg_1", timestamp: 1_700_000_001, body: body, secrets: [current]) != entries[0])
    }

    @Test func theIdIsStablePerEventAndSubscriber() {
        let a = StandardWebhookSignature.messageId(webhookId: "wh-1", client: "crm")
        #expect(a == StandardWebhookSignature.messageId(webhookId: "wh-1", client: "crm"))
        #expect(a != StandardWebhookSignature.messageId(webhookId: "wh-1", client: "billing"))
        #expect(a != StandardWebhookSignature.messageId(webhookId: "wh-2", client: "crm"))
        #expect(a.hasPrefix("msg_") && a.count == 36)
    }
}
