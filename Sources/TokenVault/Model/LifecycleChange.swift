import Foundation

/// What an INSTALL or UNINSTALL event changes. It is stored in the transaction that remembers the
/// event (`TokenVault.rememberWebhook`), so a crash never leaves an event remembered, and therefore
/// taken for a repeat when HighLevel sends it again, without its effect.
package enum LifecycleChange: Sendable, Equatable {
    /// The installation is recorded as announced: created if unknown, filled in where something was
    /// missing, reinstated if uninstalled; scopes and tokens from the code exchange are never
    /// touched. `followUp` is work left to do afterwards, kept with the event until it is done.
    case install(TokenOwner, companyId: String?, planId: String?, followUp: WebhookFollowUp.Kind?)
    /// Each owner's token is deleted and its installation marked uninstalled.
    case uninstall([TokenOwner])

    /// The follow-up stored with the event.
    package var followUp: WebhookFollowUp.Kind? {
        if case .install(_, _, _, let followUp) = self { followUp } else { nil }
    }
}

/// Work an INSTALL leaves for after HighLevel is answered, durable with its event: a restart finds
/// what a crash cut off (`TokenVault.pendingFollowUps`) and does it.
package struct WebhookFollowUp: Sendable, Equatable {
    package enum Kind: String, Sendable {
        /// Exchange the company's token for the new location's.
        case exchange
        /// Link the locations a company installed the app on.
        case reconcile
    }

    package var webhookId: String
    package var kind: Kind
    package var locationId: String?
    package var companyId: String?

    package init(webhookId: String, kind: Kind, locationId: String?, companyId: String?) {
        self.webhookId = webhookId
        self.kind = kind
        self.locationId = locationId
        self.companyId = companyId
    }
}
