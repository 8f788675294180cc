import Crypto
import Foundation

/// The forms callers use: now as the time, one install at a time, and states and codes by value
/// (only their SHA-256 is ever stored).
extension TokenVault {
    @discardableResult
    package func install(_ installation: Installation, grant: TokenGrant) async throws(VaultError) -> TokenRecord {
        try await install([(installation, grant)])[0]
    }

    package func uninstall(_ owner: TokenOwner) async throws(VaultError) {
        try await uninstall(owner, at: Date())
    }

    package func linkLocations(_ locationIds: [String], toCompany companyId: String, source: Installation.Source) async throws(VaultError) {
        try await linkLocations(locationIds, toCompany: companyId, source: source, at: Date())
    }


    @discardableResult
    package func noteInterruptedRefreshes() async throws(VaultError) -> [TokenOwner] {
        try await noteInterruptedRefreshes(now: Date())
    }

    package func markRefreshStarted(_ owner: TokenOwner, version: Int) async throws(VaultError) {
        try await markRefreshStarted(owner, version: version, at: Date())
    }

    /// Creates a random state valid for `lifetime`.
    package func createOAuthState(lifetime: TimeInterval = 600, now: Date = Date()) async throws(VaultError) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let state = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        try await insertOAuthState(hash: Self.hash(state), expiresAt: now.addingTimeInterval(lifetime), now: now)
        return state
    }

    package func consumeOAuthState(_ state: String, now: Date = Date()) async throws(VaultError) -> Bool {
        try await consumeOAuthState(hash: Self.hash(state), now: now)
    }

    /// Claims an authorization code for its one exchange: true the first time the code is seen within
    /// `retention`, so a replayed code never reaches HighLevel's token endpoint again.
    package func claimAuthorizationCode(_ code: String, retention: TimeInterval = 86_400, now: Date = Date()) async throws(VaultError) -> Bool {
        try await claimAuthorizationCode(hash: Self.hash(code), now: now, purgeBefore: now.addingTimeInterval(-retention))
    }

    package func releaseAuthorizationCode(_ code: String) async throws(VaultError) {
        try await releaseAuthorizationCode(hash: Self.hash(code))
    }

    /// Stores an event unless its id was seen within `retention` (see the requirement).
    package func rememberWebhook(
        _ event: WebhookEvent, subscribers: [String] = [], change: LifecycleChange? = nil, retention: TimeInterval, now: Date = Date()
    ) async throws(VaultError) -> Bool {
        try await rememberWebhook(
            event, subscribers: subscribers, change: change, purgeBefore: now.addingTimeInterval(-retention), now: now)
    }

    package func recordDelivery(_ id: Int64, _ outcome: DeliveryOutcome) async throws(VaultError) {
        try await recordDelivery(id, outcome, at: Date())
    }

    package func deliveries(client: String? = nil, status: String? = nil, type: String? = nil) async throws(VaultError) -> [DeliveryRecord] {
        try await deliveries(client: client, status: status, type: type, limit: 500)
    }

    package func retryDelivery(_ id: Int64) async throws(VaultError) -> Bool {
        try await retryDelivery(id, now: Date())
    }

    package func retryDeliveries(client: String?, since: Date) async throws(VaultError) -> Int {
        try await retryDeliveries(client: client, since: since, now: Date())
    }

    private static func hash(_ value: String) -> String {
        SHA256.hash(data: Data(value.utf8)).hexString
    }
}
