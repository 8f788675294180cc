import Foundation
import GatewayTestSupport
import Testing

@Suite("No secret leaves the gateway")
struct SecretHygieneTests {
    @Test func aFullRunLogsAndAnswersNoSecret() async throws {
        let client = TestClient("svc")
        let logs = LogCapture()
        let directory = TemporaryDirectory()
        try await GatewayHarness.run(
            directory: directory, clients: ["svc": client.policy(locations: ["*"], allow: ["contacts.readonly", "contacts.write"])],
            logs: logs
        ) { harness in
            var bodies: [String] = []
            try await harness.install()
            let requests: [(String, String, [(String, String)], String?)] = [
                ("GET", "/contacts/a?locationId=locSim0001", [], nil),
                ("GET", "/contacts/a?locationId=locSim0002", [("Cookie", "sid=1")], nil),
                ("POST", "/contacts/", [("Content-Type", "application/json")], #"{"locationId":"locSim0001"}"#),
                ("GET", "/contacts/a", [], nil),
                ("GET", "/invoices/x?locationId=locSim0001", [], nil),
                ("GET", "/contacts/%2e%2e/x", [], nil),
            ]
            for (method, path, headers, body) in requests {
                bodies.append(try await harness.proxy(method, path, key: client.key, headers: headers, body: body).body)
            }
            bodies.append(try await harness.proxy("GET", "/contacts/a", key: client.key + "tampered").body)
            await harness.simulator.state.rejectNextCalls(1)
            bodies.append(try await harness.proxy("GET", "/contacts/b?locationId=locSim0001", key: client.key).body)
            try await harness.gateway.broker.refresh(.company("cmpSim0001"))
            await harness.simulator.state.failNextRefreshes(1, with: .invalidGrant)
            _ = try? await harness.gateway.broker.refresh(.company("cmpSim0001"))

            let tokens = await harness.simulator.state.everyIssuedToken
            #expect(tokens.count >= 6)
            let secrets =
                tokens + [
                    client.key, String(client.key.dropFirst(6)), "sim-client-secret-0123456789", GatewayHarness.encryptionKey,
                    GatewayHarness.adminToken,
                ]
            let logText = logs.text
            #expect(logText.contains("request"))
            #expect(logText.contains("refresh token refused"))
            for secret in secrets {
                #expect(!logText.contains(secret), "a secret reached the logs")
                #expect(!bodies.contains { $0.contains(secret) }, "a secret reached an error body")
            }
            #expect(!logText.lowercased().contains("bearer "))
            // The access log names route templates, not the ids in the path.
            #expect(logText.contains("template=/contacts/:contactId"))
            #expect(logText.contains("decision=allow"))
            #expect(logText.contains("upstreamStatus=200"))
            #expect(!logText.contains("/contacts/a?"))
            let database = directory.bytes(ofDatabase: "gateway.sqlite")
            for secret in secrets { #expect(database.range(of: Data(secret.utf8)) == nil, "a secret is in the database file") }
        }
    }
}
