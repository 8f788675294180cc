import Foundation
import ScopeCatalog

/// A client's subscription to HighLevel's events (`webhooks:` in its policy file): where they
/// go, the secrets they are signed with (Standard Webhooks), and which event types it wants.
package struct WebhookSubscription: Sendable, Equatable {
    package enum Events: Sendable, Equatable {
        /// Every event the client's scopes allow (INSTALL and UNINSTALL only when named).
        case all
        case only(Set<String>)
    }

    package var url: String
    /// The current secret first, then `previous_secrets`: every delivery is signed with each.
    package var secrets: [WebhookSecret]
    package var events: Events
    package var definedAt: SourceLocation

    package init(url: String, secrets: [WebhookSecret], events: Events, definedAt: SourceLocation) {
        self.url = url
        self.secrets = secrets
        self.events = events
        self.definedAt = definedAt
    }
}

/// A `whsec_` signing secret: `whsec_` and the base64 of 24 to 64 random bytes. Prints redacted.
package struct WebhookSecret: Sendable, Equatable, CustomStringConvertible {
    package static let prefix = "whsec_"
    package let key: [UInt8]

    package init?(_ text: String) {
        guard text.hasPrefix(Self.prefix), let bytes = Data(base64Encoded: String(text.dropFirst(Self.prefix.count))),
            (24...64).contains(bytes.count)
        else { return nil }
        key = Array(bytes)
    }

    /// A new random secret, as `ghl-gateway webhooks secret` prints it.
    package static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }

    package var description: String { "whsec_…(\(key.count) bytes)" }
}
