import Foundation
import GatewayPolicy
import GatewayTestSupport
import Logging
import Testing

@testable import GatewayRuntime

@Suite("Policies: key expiry warnings")
struct KeyExpiryWarningsTests {
    @Test func aKeyIsWarnedAboutOnceNearItsExpiryAndOnceWhenExpired() throws {
        let directory = TemporaryDirectory()
        try directory.policies(at: "")
        let catalog = try PolicyStore(directory: directory.path, logger: Logger(label: "test")).snapshot.catalog
        let digest = KeyDigest(key: "ghlgw_rotating")
        let file = "client: r\nkeys:\n  - key: \(digest)\n    expires: 2027-03-10\n  - \(KeyDigest(key: "ghlgw_new"))\n"
        let policies = try PolicyLoader.parse([(path: "r.yaml", text: file)], catalog: catalog)
        let expiry = try Date("2027-03-11T00:00:00Z", strategy: .iso8601)
        var warnings = KeyExpiryWarnings()
        #expect(warnings.check(ClientKeysReport(policies, now: expiry - 8 * 86_400)).isEmpty)
        let soon = warnings.check(ClientKeysReport(policies, now: expiry - 6 * 86_400))
        #expect(soon.map(\.client) == ["r"])
        #expect(soon.first?.key.digest == String(digest.description.prefix(19)))
        #expect(soon.first?.key.expired == false)
        #expect(warnings.check(ClientKeysReport(policies, now: expiry - 5 * 86_400)).isEmpty)
        let expired = warnings.check(ClientKeysReport(policies, now: expiry))
        #expect(expired.first?.key.expired == true)
        #expect(warnings.check(ClientKeysReport(policies, now: expiry + 86_400)).isEmpty)
    }
}
