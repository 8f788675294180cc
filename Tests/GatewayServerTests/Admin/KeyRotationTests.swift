import Foundation
import GatewayPolicy
import GatewayTestSupport
import Testing

/// A client's key is rotated without downtime (issue 18): both keys work while both are listed,
/// an expired one is refused, each key's last use is visible by digest prefix, and a key near its
/// expiry is warned about in the log and on `/readyz`.
@Suite("Admin: key rotation")
struct KeyRotationTests {
    let old = TestClient("billing")
    let new = TestClient("billing")
    let retired = TestClient("billing")

    private var policy: String {
        func day(_ offset: TimeInterval) -> String { String(Date().addingTimeInterval(offset).formatted(.iso8601).prefix(10)) }
        return """
            client: billing
            keys:
              - key: \(KeyDigest(key: old.key))
                expires: \(day(3 * 86_400))
              - \(KeyDigest(key: new.key))
              - key: \(KeyDigest(key: retired.key))
                expires: \(day(-2 * 86_400))
            locations: [locSim0001]
            allow: [contacts.readonly]
            """
    }

    @Test func bothKeysWorkAnExpiredOneIsRefusedAndLastUseIsShown() async throws {
        let logs = LogCapture()
        try await GatewayHarness.run(clients: ["billing": policy], logs: logs) { harness in
            try await harness.install()
            let before = try await harness.admin("GET", "/health/clients")
            #expect(before.status == 200)
            #expect(!before.body.contains("lastUsed"))
            for client in [old, new] {
                #expect(try await harness.proxy("GET", "/contacts/a", key: client.key).status == 200)
            }
            let expired = try await harness.proxy("GET", "/contacts/a", key: retired.key)
            #expect(expired.status == 401)
            #expect(expired.body.contains("expired"))

            let report = try await harness.admin("GET", "/health/clients")
            let decoded = try JSONSerialization.jsonObject(with: Data(report.body.utf8)) as? [String: Any]
            let clients = try #require(decoded?["clients"] as? [[String: Any]])
            let keys = try #require(clients.first?["keys"] as? [[String: Any]])
            #expect(keys.count == 3)
            let byDigest = Dictionary(uniqueKeysWithValues: keys.map { ($0["digest"] as? String ?? "", $0) })
            let oldEntry = try #require(byDigest[String(KeyDigest(key: old.key).description.prefix(19))])
            #expect(oldEntry["lastUsed"] != nil)
            #expect(oldEntry["expiresSoon"] as? Bool == true)
            #expect(byDigest[String(KeyDigest(key: new.key).description.prefix(19))]?["lastUsed"] != nil)
            let retiredEntry = try #require(byDigest[String(KeyDigest(key: retired.key).description.prefix(19))])
            #expect(retiredEntry["expired"] as? Bool == true)
            #expect(retiredEntry["lastUsed"] == nil)
            for client in [old, new, retired] {
                #expect(!report.body.contains(client.key))
                #expect(!report.body.contains(KeyDigest(key: client.key).description))
            }
            #expect(try await harness.admin("GET", "/health/clients", token: nil).status == 401)

            let metrics = try await harness.get(harness.adminURL + "/metrics").body
            #expect(
                metrics.contains(
                    "ghl_gateway_client_key_last_used_seconds{client=\"billing\",key=\"\(KeyDigest(key: new.key).description.prefix(19))\"}"))
            let ready = try await harness.get(harness.adminURL + "/readyz")
            #expect(ready.status == 200)
            #expect(ready.body.contains("expiring"))
            try await logs.wait(for: ["gateway key expires within a week"], after: 0)
            try await logs.wait(for: ["gateway key expired; it is refused"], after: 0)
        }
    }
}
