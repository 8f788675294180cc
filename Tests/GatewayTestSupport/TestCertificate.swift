import Crypto
import Foundation
import NIOSSL
import X509

/// A self-signed certificate for `localhost`, made when a test asks for it (no key is ever stored).
package struct TestCertificate: Sendable {
    package let certificate: NIOSSLCertificate
    package let key: NIOSSLPrivateKey
    /// The same certificate and key in PEM, for servers configured by file (PostgreSQL, TLS listeners).
    package let certificatePEM: String
    package let keyPEM: String
    private let signingKey: P256.Signing.PrivateKey
    private let subject: DistinguishedName

    /// A self-signed authority for `localhost` (a server certificate, or a CA for `issued(to:)`).
    package init() throws {
        let signingKey = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("localhost") }
        try self.init(signingKey: signingKey, subject: name, issuer: name, issuerKey: signingKey, authority: true)
    }

    /// A client certificate for `commonName`, signed by this authority.
    package func issued(to commonName: String) throws -> TestCertificate {
        try TestCertificate(
            signingKey: P256.Signing.PrivateKey(), subject: try DistinguishedName { CommonName(commonName) }, issuer: subject,
            issuerKey: signingKey, authority: false)
    }

    private init(
        signingKey: P256.Signing.PrivateKey, subject: DistinguishedName, issuer: DistinguishedName, issuerKey: P256.Signing.PrivateKey,
        authority: Bool
    ) throws {
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(signingKey.publicKey),
            notValidBefore: now - 3_600, notValidAfter: now + 3_600, issuer: issuer, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(authority ? BasicConstraints.isCertificateAuthority(maxPathLength: nil) : BasicConstraints.notCertificateAuthority)
                SubjectAlternativeNames([.dnsName("localhost")])
            },
            issuerPrivateKey: .init(issuerKey))
        certificatePEM = try certificate.serializeAsPEM().pemString
        keyPEM = signingKey.pemRepresentation
        self.signingKey = signingKey
        self.subject = subject
        self.certificate = try NIOSSLCertificate(bytes: Array(certificatePEM.utf8), format: .pem)
        self.key = try NIOSSLPrivateKey(bytes: Array(signingKey.derRepresentation), format: .der)
    }
}
