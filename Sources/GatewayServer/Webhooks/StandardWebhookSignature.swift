import Crypto
import Foundation
import GatewayPolicy

/// The Standard Webhooks signature (standardwebhooks.com): `v1,` and the base64 HMAC-SHA256 of
/// `id.timestamp.body` under each secret, space separated, so a receiver holding either secret
/// of a rotation verifies it.
enum StandardWebhookSignature {
    static func header(id: String, timestamp: Int, body: Data, secrets: [WebhookSecret]) -> String {
        var signed = Data("\(id).\(timestamp).".utf8)
        signed.append(body)
        return secrets.map { secret in
            "v1," + Data(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: secret.key))).base64EncodedString()
        }.joined(separator: " ")
    }

    /// `webhook-id`: the same for every attempt of one event to one subscriber, and different per
    /// subscriber (so one cannot replay another's delivery as its own).
    static func messageId(webhookId: String, client: String) -> String {
        "msg_" + ASCIIHex.string(SHA256.hash(data: Data("\(webhookId)\n\(client)".utf8)).prefix(16))
    }
}
