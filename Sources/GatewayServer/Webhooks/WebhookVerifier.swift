import Crypto
import CryptoExtras
import Foundation

/// Checks HighLevel's webhook signatures over the exact bytes received: `x-ghl-signature`
/// (Ed25519, HighLevel's published key by default) or, only where an RSA key is configured, the
/// legacy `x-wh-signature` (RSA-SHA256, PKCS#1 v1.5, announced removed on 2026-07-01); both base64.
package struct WebhookVerifier: Sendable {
    enum Scheme: String, Sendable {
        case ed25519
        case rsa
    }

    enum Verdict: Sendable, Equatable {
        case valid(Scheme)
        /// No signature the configured keys can check.
        case missing
        case invalid(Scheme)
    }

    enum KeyError: Error, CustomStringConvertible {
        case unreadable(key: String, reason: String)

        var description: String {
            switch self {
            case .unreadable(let key, let reason): "\(key): not a usable PEM public key (\(reason))"
            }
        }
    }

    private let ed25519: [Curve25519.Signing.PublicKey]
    private let rsa: _RSA.Signing.PublicKey?

    /// Any of the Ed25519 keys may verify a delivery (a rotation lists the old and the new key).
    init(ed25519PEMs: [String], rsaPEM: String?) throws(KeyError) {
        do {
            ed25519 = try ed25519PEMs.map { try Curve25519.Signing.PublicKey(pemRepresentation: $0) }
        } catch {
            throw .unreadable(key: "highlevel.webhook_ed25519_public_key", reason: "\(error)")
        }
        do {
            rsa = try rsaPEM.map { try _RSA.Signing.PublicKey(pemRepresentation: $0) }
        } catch {
            throw .unreadable(key: "highlevel.webhook_rsa_public_key", reason: "\(error)")
        }
    }

    /// Ed25519 decides when its header is present; RSA only otherwise, and only with a configured key.
    func verify(body: Data, ed25519Signature: String?, rsaSignature: String?) -> Verdict {
        if let header = ed25519Signature {
            guard let signature = Data(base64Encoded: header.trimmingCharacters(in: .whitespaces)),
                ed25519.contains(where: { $0.isValidSignature(signature, for: body) })
            else { return .invalid(.ed25519) }
            return .valid(.ed25519)
        }
        if let header = rsaSignature, let key = rsa {
            guard let signature = Data(base64Encoded: header.trimmingCharacters(in: .whitespaces)),
                key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: body, padding: .insecurePKCS1v1_5)
            else { return .invalid(.rsa) }
            return .valid(.rsa)
        }
        return .missing
    }
}
