import Foundation
import GatewayPolicy
import GatewayTestSupport
import HTTPTypes
import Logging
import ScopeCatalog
import Testing

@testable import GatewayProxy
@testable import GatewayRuntime

/// The shipped catalog and a client, for the stage tests: real routes matched from real paths.
struct StageFixture {
    let store: PolicyStore
    let client: ClientPolicy

    /// One client `c` with the given policy lines, over a copy of the shipped catalog.
    init(locations: [String] = ["locA"], companies: [String] = [], allow: [String] = ["contacts.readonly"]) throws {
        let directory = TemporaryDirectory()
        try directory.policies(at: "")
        directory.write("clients/c.yaml", TestClient("c").policy(locations: locations, companies: companies, allow: allow))
        store = try PolicyStore(directory: directory.path, logger: Logger(label: "test"))
        client = try #require(store.snapshot.policies.clients["c"])
    }

    /// `METHOD path` through the canonicalize and match stages.
    func routed(_ method: String, _ path: String) throws -> ProxyExchange.Routed {
        let (target, match) = try ProxyStages(limits: .init()).route(method: method, path: path, catalog: store.snapshot.catalog)
        return ProxyExchange.Routed(caller: .init(policy: client, key: client.keys[0]), target: target, match: match)
    }
}
