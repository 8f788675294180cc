import Crypto
import Foundation

/// A credential (access token, refresh token, client secret, key) that prints as a short
/// fingerprint, never its value, so interpolating it into a log line or error cannot leak it.
package struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The raw value; read it only where it leaves the process for its owner (an upstream header or form).
    package let revealed: String

    package init(_ value: String) {
        revealed = value
    }

    /// `sha256:` and the first 12 hex digits of the value's SHA-256: enough to correlate, useless to an attacker.
    package var fingerprint: String {
        "sha256:" + SHA256.hash(data: Data(revealed.utf8)).prefix(6).hexString
    }

    package var description: String { "<secret \(fingerprint)>" }
    package var debugDescription: String { description }
}
