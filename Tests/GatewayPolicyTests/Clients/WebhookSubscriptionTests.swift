import Foundation
import Testing

@testable import GatewayPolicy

@Suite("Webhook subscriptions in client policies")
struct WebhookSubscriptionTests {
    static let secret = "whsec_" + Data(repeating: 7, count: 32).base64EncodedString()

    private func parse(_ webhooks: String, allow: String = "[contacts.readonly]") throws(PolicyRejection) -> ClientPolicy? {
        let text = """
            client: crm-sync
            key: \(PolicyLoaderTests.keyA)
            locations: [locA]
            allow: \(allow)
            webhooks:
            \(webhooks)
            """
        return try PolicyLoader.parse([(path: "crm.yaml", text: text)], catalog: PolicyLoaderTests.catalog, environment: ["CRM_SECRET": Self.secret])
            .clients["crm-sync"]
    }

    private func issues(_ webhooks: String, allow: String = "[contacts.readonly]") -> [String] {
        do {
            _ = try parse(webhooks, allow: allow)
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func aSubscriptionLoadsWithItsSecrets() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let old = "whsec_" + Data(repeating: 9, count: 24).base64EncodedString()
        try Data((old + "\n").utf8).write(to: directory.appendingPathComponent("old"))
        let client = try #require(
            try parse(
                """
                  url: https://crm-sync.internal/highlevel-events
                  secret: env:CRM_SECRET
                  previous_secrets: [file:\(directory.path)/old]
                  events: [ContactCreate, ContactDelete]
                """))
        let webhooks = try #require(client.webhooks)
        #expect(webhooks.url == "https://crm-sync.internal/highlevel-events")
        #expect(webhooks.secrets.map(\.key) == [Array(repeating: 7, count: 32), Array(repeating: 9, count: 24)])
        #expect(webhooks.events == .only(["ContactCreate", "ContactDelete"]))
        #expect(!"\(webhooks.secrets)".contains(Self.secret.dropFirst(6)))
    }

    @Test func everyProblemNamesItsLine() {
        let found = issues(
            """
              url: ftp://crm-sync.internal/x
              secret: \(Self.secret)
              events: [ContactCreate, NoSuchEvent, OpportunityCreate]
            """)
        #expect(found.contains("crm.yaml:6: webhooks.url 'ftp://crm-sync.internal/x' is not an http(s) URL (no user info, no fragment)"), "\(found)")
        #expect(found.contains("crm.yaml:7: webhooks.secret must be written as env:NAME or file:/path, not inline"), "\(found)")
        #expect(found.contains { $0.hasPrefix("crm.yaml:8: unknown event type 'NoSuchEvent'") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("crm.yaml:8: event 'OpportunityCreate' needs one of the scopes opportunities.readonly") }, "\(found)")
        #expect(!found.joined().contains(Self.secret), "an inline secret is never echoed")
    }

    @Test func secretsMustBeWhsecOfTheRightSize() {
        let short = "whsec_" + Data(repeating: 1, count: 8).base64EncodedString()
        #expect(WebhookSecret(short) == nil)
        #expect(WebhookSecret("sk_live_abc") == nil)
        #expect(WebhookSecret(WebhookSecret.generate()) != nil)
        let found = issues(
            """
              url: https://x.internal/
              secret: env:MISSING
              events: ["*"]
            """)
        #expect(found == ["crm.yaml:7: webhooks.secret: environment variable MISSING is not set"])
    }

    @Test func eventsAreStarAloneOrAList() {
        let found = issues(
            """
              url: https://x.internal/
              secret: env:CRM_SECRET
              events: ["*", ContactCreate]
            """)
        #expect(found.contains { $0.contains("either [\"*\"] or a list of event types") }, "\(found)")
    }
}
