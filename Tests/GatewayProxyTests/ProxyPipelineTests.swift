import Foundation
import GatewaySandbox
import GatewayTestSupport
import HighLevelSimulator
import Testing
import TokenVault

@Suite("Proxy pipeline end to end")
struct ProxyPipelineTests {
    static let billing = TestClient("billing")

    @Test func anAllowedCallCarriesTheLocationsTokenAndVersion() async throws {
        let client = TestClient("contacts-reader")
        try await GatewayHarness.run(clients: ["reader": client.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            let answer = try await harness.proxy(
                "GET", "/contacts/abc?locationId=locSim0001&x=%20y", key: client.key,
                headers: [("Cookie", "session=caller"), ("X-Request-Id", "req-123")])
            #expect(answer.status == 200)
            #expect(answer.headers["x-request-id"] == "req-123")
            let calls = await harness.simulator.state.calls
            let call = try #require(calls.last)
            #expect(call.owner == .location("locSim0001"))
            #expect(call.path == "/contacts/abc")
            #expect(call.query == "locationId=locSim0001&x=%20y")
            #expect(call.version == "2021-07-28")
            let stored = try #require(try await harness.gateway.vault.token(for: .location("locSim0001")))
            #expect(call.accessToken == stored.accessToken.revealed)
            #expect(!call.headers.contains { $0.name.lowercased() == "cookie" })
            #expect(!call.headers.contains { $0.value.contains(client.key) })
            #expect(call.headers.first { $0.name.lowercased() == "x-request-id" }?.value == "req-123")
            #expect(await harness.simulator.state.exchanges == 1)
        }
    }

    @Test func theCallersVersionIsForwarded() async throws {
        let client = TestClient("v")
        try await GatewayHarness.run(clients: ["v": client.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            let answer = try await harness.proxy("GET", "/contacts/abc", key: client.key, headers: [("Version", "2021-04-15")])
            #expect(answer.status == 200)
            #expect(await harness.simulator.state.calls.last?.version == "2021-04-15")
        }
    }

    @Test func unauthenticatedCallsAreRefused() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["contacts.readonly"])]) { harness in
            for key in [nil, "ghlgw_wrong", client.key + "x", String(client.key.dropFirst(6))] as [String?] {
                let answer = try await harness.proxy("GET", "/contacts/abc", key: key)
                #expect(answer.status == 401)
                #expect(answer.body.contains("\"code\":\"unauthenticated\""))
                #expect(answer.headers["content-type"] == "application/json")
                let requestId = try #require(answer.headers["x-request-id"])
                #expect(answer.body.contains("\"requestId\":\"\(requestId)\""))
            }
            let basic = try await harness.proxy("GET", "/contacts/abc", key: nil, headers: [("Authorization", "Basic \(client.key)")])
            #expect(basic.status == 401)
            #expect(await harness.simulator.state.calls.isEmpty)
        }
    }

    @Test func unknownRoutesAndMethodsAreDenied() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["contacts.readonly"])]) { harness in
            for (method, path) in [("GET", "/nothing/here"), ("OPTIONS", "/contacts/abc"), ("PATCH", "/contacts/abc"), ("GET", "/")] {
                let answer = try await harness.proxy(method, path, key: client.key)
                #expect(answer.status == 404, "\(method) \(path)")
                #expect(answer.body.contains("\"code\":\"route_unknown\""))
            }
        }
    }

    @Test func policyDenialsExplainThemselves() async throws {
        let client = TestClient("c")
        let policy = client.policy(allow: ["contacts.readonly", "contacts.write"], deny: ["DELETE /contacts/:contactId"])
        try await GatewayHarness.run(clients: ["c": policy]) { harness in
            try await harness.install()
            let noRule = try await harness.proxy("GET", "/invoices/inv1", key: client.key)
            #expect(noRule.status == 403)
            #expect(noRule.body.contains("\"code\":\"policy_denied\""))
            #expect(noRule.body.contains("invoices.readonly"))
            let denied = try await harness.proxy("DELETE", "/contacts/abc", key: client.key)
            #expect(denied.status == 403)
            #expect(denied.body.contains("denied by route DELETE /contacts/:contactId"))
            let otherLocation = try await harness.proxy("GET", "/contacts/abc?locationId=locSim0002", key: client.key)
            #expect(otherLocation.status == 403)
            #expect(otherLocation.body.contains("location locSim0002 is not in the locations of c"))
            let allowed = try await harness.proxy(
                "PUT", "/contacts/abc", key: client.key, headers: [("Content-Type", "application/json")], body: "{}")
            #expect(allowed.status == 200)
            #expect(await harness.simulator.state.calls.count == 1)
        }
    }

    @Test func aRouteTemplateAloneGrantsItsRoute() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["GET /contacts/:contactId/tasks"])]) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/abc/tasks", key: client.key).status == 200)
            #expect(try await harness.proxy("GET", "/contacts/abc/tasks/", key: client.key).status == 200)
            #expect(try await harness.proxy("GET", "/contacts/abc", key: client.key).status == 403)
        }
    }

    @Test func wildcardLocationsNeedTheLocationNamed() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(locations: ["*"], allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            let missing = try await harness.proxy("GET", "/contacts/abc", key: client.key)
            #expect(missing.status == 400)
            #expect(missing.body.contains("\"code\":\"location_required\""))
            #expect(try await harness.proxy("GET", "/contacts/abc?locationId=locSim0002", key: client.key).status == 200)
            #expect(try await harness.proxy("GET", "/contacts/abc", key: client.key, headers: [("X-Location-Id", "locSim0001")]).status == 200)
            let owners = await harness.simulator.state.calls.map(\.owner)
            #expect(owners == [.location("locSim0002"), .location("locSim0001")])
            // A location the wildcard allows but that never installed the app.
            let unknown = try await harness.proxy("GET", "/contacts/abc?locationId=locNope", key: client.key)
            #expect(unknown.status == 403)
            #expect(unknown.body.contains("\"code\":\"not_installed\""))
        }
    }

    @Test func targetsMustAgreeAcrossPathQueryHeaderAndBody() async throws {
        let client = TestClient("c")
        let policy = client.policy(locations: ["*"], allow: ["locations/customValues.write", "contacts.write", "contacts.readonly"])
        try await GatewayHarness.run(clients: ["c": policy]) { harness in
            try await harness.install()
            let json = [("Content-Type", "application/json")]
            let cases: [(String, String, [(String, String)], String?)] = [
                ("POST", "/locations/locSim0001/customValues?locationId=locSim0002", json, "{}"),
                ("POST", "/locations/locSim0001/customValues", json + [("X-Location-Id", "locSim0002")], "{}"),
                ("POST", "/locations/locSim0001/customValues", json, #"{"locationId":"locSim0002"}"#),
                ("POST", "/contacts/?locationId=locSim0001", json, #"{"name":"a","locationId":"locSim0002"}"#),
                ("POST", "/contacts/", json, #"{"locationId":"locSim0001","locationId":"locSim0002"}"#),
                ("GET", "/contacts/abc?locationId=locSim0001&locationId=locSim0002", [], nil),
                ("GET", "/contacts/abc?locationId=locSim0001&locationId%5B%5D=locSim0002", [], nil),
                ("GET", "/contacts/abc", [("X-Location-Id", "locSim0001"), ("X-Location-Id", "locSim0002")], nil),
            ]
            for (method, path, headers, body) in cases {
                let answer = try await harness.proxy(method, path, key: client.key, headers: headers, body: body)
                #expect(answer.status == 400, "\(method) \(path) \(body ?? "")")
                #expect(answer.body.contains("\"code\":\"target_conflict\""), "\(answer.body)")
            }
            let agreeing = try await harness.proxy(
                "POST", "/locations/locSim0001/customValues?locationId=locSim0001", key: client.key,
                headers: json + [("X-Location-Id", "locSim0001")], body: #"{"locationId":"locSim0001","nested":{"locationId":"other"}}"#)
            #expect(agreeing.status == 200)
            #expect(await harness.simulator.state.calls.count == 1)
            #expect(await harness.simulator.state.calls.first?.headers.contains { $0.name.lowercased() == "x-location-id" } == false)
        }
    }

    @Test func aJSONBodyTargetIsUsedAndForwardedByteForByte() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(locations: ["*"], allow: ["contacts.write"])]) { harness in
            try await harness.install()
            let body = #"{ "firstName" : "Ada", "locationId":"locSim0002" , "tags":[1,2,{"a":null}] }"#
            let answer = try await harness.proxy("POST", "/contacts/", key: client.key, headers: [("Content-Type", "application/json")], body: body)
            #expect(answer.status == 200)
            let call = try #require(await harness.simulator.state.calls.last)
            #expect(call.owner == .location("locSim0002"))
            #expect(String(decoding: call.body, as: UTF8.self) == body)
            let malformed = try await harness.proxy(
                "POST", "/contacts/", key: client.key, headers: [("Content-Type", "application/json")], body: #"{"locationId": 5}"#)
            #expect(malformed.status == 400)
            #expect(malformed.body.contains("\"code\":\"bad_request\""))
        }
    }

    @Test func agencyRoutesUseTheCompanyToken() async throws {
        let client = TestClient("agency")
        let policy = client.policy(locations: [], companies: ["cmpSim0001"], allow: ["snapshots.readonly", "locations.readonly"])
        try await GatewayHarness.run(clients: ["agency": policy]) { harness in
            try await harness.install()
            let snapshots = try await harness.proxy("GET", "/snapshots?companyId=cmpSim0001", key: client.key)
            #expect(snapshots.status == 200)
            let search = try await harness.proxy("GET", "/locations/search", key: client.key)
            #expect(search.status == 200)
            let owners = await harness.simulator.state.calls.map(\.owner)
            #expect(owners == [.company("cmpSim0001"), .company("cmpSim0001")])
            #expect(await harness.simulator.state.exchanges == 0)
            let otherCompany = try await harness.proxy("GET", "/snapshots?companyId=cmpOther", key: client.key)
            #expect(otherCompany.status == 403)
        }
    }

    @Test func aScopeTheInstallLacksIsNamed() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["invoices.readonly"])]) { harness in
            try await harness.install()
            let answer = try await harness.proxy("GET", "/invoices/inv1", key: client.key)
            #expect(answer.status == 403)
            #expect(answer.body.contains("\"code\":\"scope_not_installed\""))
            #expect(answer.body.contains("invoices.readonly"))
            #expect(await harness.simulator.state.calls.isEmpty)
        }
    }

    @Test func notInstalledWithoutAnInstall() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["contacts.readonly"])]) { harness in
            let answer = try await harness.proxy("GET", "/contacts/abc", key: client.key)
            #expect(answer.status == 403)
            #expect(answer.body.contains("\"code\":\"not_installed\""))
        }
    }

    @Test func rateLimitsAnswer429WithRetryAfter() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["contacts.readonly"], rateLimit: "2/1m")]) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/a", key: client.key).status == 200)
            #expect(try await harness.proxy("GET", "/contacts/b", key: client.key).status == 200)
            let limited = try await harness.proxy("GET", "/contacts/c", key: client.key)
            #expect(limited.status == 429)
            #expect(limited.body.contains("\"code\":\"rate_limited\""))
            let retry = try #require(limited.headers["retry-after"].flatMap(Int.init))
            #expect((20...30).contains(retry))
            #expect(await harness.simulator.state.calls.count == 2)
        }
    }

    @Test func anExpiredTokenDuringAnOutageIsUnavailable() async throws {
        let client = TestClient("c")
        var configuration = SimulatorConfiguration()
        configuration.installer = .location(companyId: "cmpSim0001", locationId: "locSim0001")
        try await GatewayHarness.run(configuration, clients: ["c": client.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            try await harness.gateway.vault.expire(.location("locSim0001"))
            await harness.simulator.state.failNextRefreshes(1, with: .status(503))
            let answer = try await harness.proxy("GET", "/contacts/abc", key: client.key)
            #expect(answer.status == 503)
            #expect(answer.body.contains("\"code\":\"token_unavailable\""))
        }
    }

    @Test func oversizedBodiesAreRefusedBeforeForwarding() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(
            clients: ["c": client.policy(allow: ["contacts.write", "medias.write"])],
            extraConfiguration: "limits:\n  max_body_bytes: 1000\n  inspect_json_bytes: 100\n"
        ) { harness in
            try await harness.install()
            let big = try await harness.proxy(
                "POST", "/medias/upload-file", key: client.key, headers: [("Content-Type", "application/octet-stream")],
                body: String(repeating: "x", count: 1001))
            #expect(big.status == 413)
            #expect(big.body.contains("\"code\":\"payload_too_large\""))
            let json = try await harness.proxy(
                "POST", "/contacts/", key: client.key, headers: [("Content-Type", "application/json")],
                body: "{\"name\":\"\(String(repeating: "x", count: 200))\"}")
            #expect(json.status == 413)
            #expect(await harness.simulator.state.calls.isEmpty)
        }
    }

    @Test func aChunkedUploadOverTheLimitIsCutAndRefused() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(
            clients: ["c": client.policy(allow: ["medias.write"])], extraConfiguration: "limits:\n  max_body_bytes: 1000\n"
        ) { harness in
            try await harness.install()
            let chunk = "3e8\r\n" + String(repeating: "x", count: 1000) + "\r\n"
            let request =
                "POST /medias/upload-file HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer \(client.key)\r\n"
                + "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + "0\r\n\r\n"
            let answer = await RawHTTP.exchange(port: harness.proxyPort, request)
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer)")
            #expect(answer.contains("\"code\":\"payload_too_large\""))
            #expect(await !harness.simulator.state.calls.contains { $0.bodyBytes > 1000 })
        }
    }

    @Test func oversizedHeaderBlocksAndURLsAreRefused() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(
            clients: ["c": client.policy(allow: ["contacts.readonly"])],
            extraConfiguration: "limits:\n  max_header_bytes: 2048\n  max_url_bytes: 200\n"
        ) { harness in
            try await harness.install()
            let headers = try await harness.proxy("GET", "/contacts/a", key: client.key, headers: [("X-Big", String(repeating: "h", count: 3000))])
            #expect(headers.status == 400)
            #expect(headers.body.contains("headers exceed 2048 bytes"))
            let url = try await harness.proxy("GET", "/contacts/" + String(repeating: "u", count: 300), key: client.key)
            #expect(url.status == 400)
            #expect(url.body.contains("longer than 200 bytes"))
            #expect(await harness.simulator.state.calls.isEmpty)
        }
    }
}
