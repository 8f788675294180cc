import Crypto
import Foundation

/// The SHA-256 of a gateway key (`ghlgw_...`): what policy files store (`sha256:<hex>`) and what
/// a caller's key is compared against, in constant time.
package struct KeyDigest: Sendable, Hashable, CustomStringConvertible {
    package let bytes: [UInt8]
    /// `sha256:` and the first 12 hex digits: enough to tell keys apart in logs, reports and the
    /// audit trail, never the key. Kept, as every request's audit row names it.
    package let short: String

    package static let keyPrefix = "ghlgw_"

    /// Digest of a presented key.
    package init(key: some StringProtocol) {
        self.init(bytes: Array(SHA256.hash(data: Data(key.utf8))))
    }

    /// Parses `sha256:` followed by 64 hex digits.
    package init?(policyValue text: String) {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = Array(text.utf8.dropFirst(7))
        guard hex.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = ASCIIHex.value(hex[index]), let low = ASCIIHex.value(hex[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(bytes: bytes)
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
        short = bytes.withUnsafeBytes { "sha256:" + ASCIIHex.string(UnsafeRawBufferPointer(rebasing: $0.prefix(6))) }
    }

    /// Constant-time equality: the time taken does not depend on where the digests differ.
    package func matches(_ other: KeyDigest) -> Bool {
        ConstantTime.equal(bytes, other.bytes)
    }

    package var description: String { bytes.withUnsafeBytes { "sha256:" + ASCIIHex.string($0) } }

    /// Equal and hashed by the digest alone (`short` follows from it).
    package static func == (lhs: KeyDigest, rhs: KeyDigest) -> Bool { lhs.bytes == rhs.bytes }

    package func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    /// A new random key with 256 bits of entropy, base64url after the `ghlgw_` prefix.
    package static func generateKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = Data(random).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return keyPrefix + text
    }
}
