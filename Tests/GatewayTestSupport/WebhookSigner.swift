import Crypto
import CryptoExtras
import Foundation

/// Real Ed25519 and RSA key pairs, generated for a test, signing webhook bodies as HighLevel does.
package struct WebhookSigner: Sendable {
    let ed25519 = Curve25519.Signing.PrivateKey()
    let rsa: _RSA.Signing.PrivateKey

    /// RSA key generation is slow; one pair serves every test.
    package static let shared = WebhookSigner()

    package init() {
        rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    }

    package var ed25519PublicPEM: String { ed25519.publicKey.pemRepresentation }
    package var rsaPublicPEM: String { rsa.publicKey.pemRepresentation }

    package func ed25519Signature(_ body: Data) -> String { try! ed25519.signature(for: body).base64EncodedString() }

    package func rsaSignature(_ body: Data) -> String {
        try! rsa.signature(for: body, padding: .insecurePKCS1v1_5).rawRepresentation.base64EncodedString()
    }
}
