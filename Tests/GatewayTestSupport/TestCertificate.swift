import Crypto
import Foundation
import NIOSSL
import X509

/// A self-signed certificate for `localhost`, made when a test asks for it (no key is ever stored).
package struct TestCertificate: Sendable {
    package let certificate: NIOSSLCertificate
    package let key: NIOSSLPrivateKey
    /// The same certificate and key in PEM, for servers configured by file (PostgreSQL).
    package let certificatePEM: String
    package let keyPEM: String

    package init() throws {
        let signingKey = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("localhost") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(signingKey.publicKey),
            notValidBefore: now - 3_600, notValidAfter: now + 3_600, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                SubjectAlternativeNames([.dnsName("localhost")])
            },
            issuerPrivateKey: .init(signingKey))
        certificatePEM = try certificate.serializeAsPEM().pemString
        keyPEM = signingKey.pemRepresentation
        self.certificate = try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
        self.key = try NIOSSLPrivateKey(bytes: Array(signingKey.derRepresentation), format: .der)
    }
}
