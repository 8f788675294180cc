import Crypto
import Foundation
import GatewayTestSupport
import Testing

@testable import GatewayRuntime
@testable import GatewayServer

@Suite("Webhook signatures")
struct WebhookVerifierTests {
    let body = Data(#"{"type":"ContactCreate","locationId":"locA"}"#.utf8)
    let signer = WebhookSigner.shared

    @Test func highLevelsPublishedKeyIsAnEd25519Key() throws {
        let key = try Curve25519.Signing.PublicKey(pemRepresentation: GatewayConfiguration.HighLevel.publishedEd25519PEM)
        // The DER's last 32 bytes are the raw key.
        let der = try #require(Data(base64Encoded: "MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg="))
        #expect(key.rawRepresentation == der.suffix(32))
    }

    @Test func anyListedEd25519KeyVerifies() throws {
        let other = WebhookSigner()
        let verifier = try WebhookVerifier(ed25519PEMs: [GatewayConfiguration.HighLevel.publishedEd25519PEM, signer.ed25519PublicPEM], rsaPEM: nil)
        #expect(verifier.verify(body: body, ed25519Signature: signer.ed25519Signature(body), rsaSignature: nil) == .valid(.ed25519))
        #expect(verifier.verify(body: body, ed25519Signature: other.ed25519Signature(body), rsaSignature: nil) == .invalid(.ed25519))
        var tampered = body
        tampered[0] ^= 1
        #expect(verifier.verify(body: tampered, ed25519Signature: signer.ed25519Signature(body), rsaSignature: nil) == .invalid(.ed25519))
        #expect(verifier.verify(body: body, ed25519Signature: "%%%", rsaSignature: nil) == .invalid(.ed25519))
    }

    @Test func rsaIsCheckedOnlyWithAConfiguredKeyAndNeverOverEd25519() throws {
        let withoutRSA = try WebhookVerifier(ed25519PEMs: [signer.ed25519PublicPEM], rsaPEM: nil)
        #expect(withoutRSA.verify(body: body, ed25519Signature: nil, rsaSignature: signer.rsaSignature(body)) == .missing)
        let withRSA = try WebhookVerifier(ed25519PEMs: [signer.ed25519PublicPEM], rsaPEM: signer.rsaPublicPEM)
        #expect(withRSA.verify(body: body, ed25519Signature: nil, rsaSignature: signer.rsaSignature(body)) == .valid(.rsa))
        #expect(withRSA.verify(body: body, ed25519Signature: nil, rsaSignature: WebhookSigner().rsaSignature(body)) == .invalid(.rsa))
        // Ed25519 decides when its header is there, even beside a good RSA signature.
        #expect(
            withRSA.verify(body: body, ed25519Signature: WebhookSigner().ed25519Signature(body), rsaSignature: signer.rsaSignature(body))
                == .invalid(.ed25519))
        #expect(withRSA.verify(body: body, ed25519Signature: nil, rsaSignature: nil) == .missing)
    }

    @Test func anUnreadableKeyIsNamed() {
        #expect(throws: WebhookVerifier.KeyError.self) { try WebhookVerifier(ed25519PEMs: ["not a key"], rsaPEM: nil) }
        do {
            _ = try WebhookVerifier(ed25519PEMs: [signer.ed25519PublicPEM], rsaPEM: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
            Issue.record("a broken RSA key was accepted")
        } catch {
            #expect(error.description.hasPrefix("highlevel.webhook_rsa_public_key: not a usable PEM public key"))
        }
    }
}
