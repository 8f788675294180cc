import Foundation
import GatewayRuntime
import HighLevelOAuth
import Logging
import TokenVault

/// What the admin listener reads and acts on, handed over by the assembly: its routes see these
/// parts and nothing else of the running dependencies.
struct AdminDependencies: Sendable {
    let adminToken: Secret
    let vault: any TokenVault
    let broker: TokenBroker
    let policies: PolicyStore
    let budget: UpstreamBudget
    let replicas: ReplicaHeartbeat
    let webhookDeliverer: WebhookDeliverer
    let unroutedEvents: UnroutedEvents
    /// Each listener's open connections (`ghl_gateway_connections_open`).
    let connections: [ListenerConnections]
    let listeners: BoundListeners
    let databaseOutage: DatabaseOutage
    /// `readiness_database_grace_seconds`.
    let readinessDatabaseGraceSeconds: Double
    /// A token is `expiring` once the proactive refresher should be renewing it.
    let expiringWindow: TimeInterval
    /// Where each operator action is kept (`audit:`).
    let audit: AuditTrail?
    let metrics: GatewayMetrics
    let logger: Logger
}
