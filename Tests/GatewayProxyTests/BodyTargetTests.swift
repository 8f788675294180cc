import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing
import TokenVault

/// Every body HighLevel parses names a target the gateway reads first (issue 18): a form body
/// that names another location than the header is a conflict, not a request for the header's.
@Suite("Proxy: targets in form, JSON and multipart bodies")
struct BodyTargetTests {
    static let form = ("Content-Type", "application/x-www-form-urlencoded")

    @Test func aFormBodyNamingAnotherLocationThanTheHeaderIsAConflict() async throws {
        let client = TestClient("searcher")
        let policy = client.policy(locations: ["locSim0001"], allow: ["contacts.write"])
        try await GatewayHarness.run(clients: ["searcher": policy]) { harness in
            try await harness.install()
            let answer = try await harness.proxy(
                "POST", "/contacts/", key: client.key, headers: [Self.form, ("X-Location-Id", "locSim0001")], body: "locationId=locSim0002")
            #expect(answer.status == 400)
            #expect(answer.body.contains("\"code\":\"target_conflict\""), "\(answer.body)")
            #expect(answer.body.contains("form body"))
            // Alone, the body's location is the target, and the policy decides on it.
            let alone = try await harness.proxy("POST", "/contacts/", key: client.key, headers: [Self.form], body: "query=a&locationId=locSim0002")
            #expect(alone.status == 403)
            #expect(alone.body.contains("\"code\":\"policy_denied\""))
            #expect(await harness.simulator.state.calls.isEmpty)
        }
    }

    @Test func aFormBodyIsReadAsHighLevelsQsReadsItAndForwardedAsSent() async throws {
        let client = TestClient("writer")
        try await GatewayHarness.run(clients: ["writer": client.policy(locations: ["*"], allow: ["contacts.write"])]) { harness in
            try await harness.install()
            let spellings = [
                "locationId=locSim0002", "loc%61tionId=locSim0002", "locationId%5B%5D=locSim0002", "%5BlocationId%5D=locSim0002",
                "locationId[0]=locSim0002&a=1",
            ]
            for body in spellings {
                let answer = try await harness.proxy("POST", "/contacts/", key: client.key, headers: [Self.form], body: body)
                #expect(answer.status == 200, "\(body): \(answer.body)")
                let call = try #require(await harness.simulator.state.calls.last)
                #expect(call.owner == .location("locSim0002"), "\(body)")
                #expect(String(decoding: call.body, as: UTF8.self) == body)
            }
            let conflicts = ["locationId=locSim0001&locationId[]=locSim0002", "locationId[a=b]=locSim0002&locationId=locSim0001"]
            for body in conflicts {
                let answer = try await harness.proxy("POST", "/contacts/", key: client.key, headers: [Self.form], body: body)
                #expect(answer.body.contains("\"code\":\"target_conflict\""), "\(body): \(answer.body)")
            }
            let ambiguous = try await harness.proxy("POST", "/contacts/", key: client.key, headers: [Self.form], body: "locationId=loc%41%zz")
            #expect(ambiguous.status == 400)
            #expect(ambiguous.body.contains("percent-escape"))
        }
    }

    @Test func jsonUnderAnyJSONMediaTypeIsRead() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(locations: ["*"], allow: ["contacts.write"])]) { harness in
            try await harness.install()
            for type in ["application/vnd.api+json; charset=utf-8", #"Application/JSON;charset="UTF-8""#, "application/json ; version=2"] {
                let answer = try await harness.proxy(
                    "POST", "/contacts/", key: client.key, headers: [("Content-Type", type), ("X-Location-Id", "locSim0001")],
                    body: #"{"locationId":"locSim0002"}"#)
                #expect(answer.body.contains("\"code\":\"target_conflict\""), "\(type): \(answer.body)")
            }
            #expect(await harness.simulator.state.calls.isEmpty)
        }
    }

    /// A server whose body parser accepts any type reads JSON under `text/plain` or no type at all:
    /// such a body is read as JSON when it is JSON, and refused when it names a target otherwise.
    @Test func aBodyOfAnUndeclaredTypeIsReadAsJSON() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(locations: ["*"], allow: ["contacts.write"])]) { harness in
            try await harness.install()
            let here = ("X-Location-Id", "locSim0001")
            for type in [nil, "text/plain", "text/json; charset=utf-8", "application/x-json"] {
                let typed = type.map { [("Content-Type", $0)] } ?? []
                let before = await harness.simulator.state.calls.count
                let json = try await harness.proxy(
                    "POST", "/contacts/", key: client.key, headers: typed + [here], body: #"{"locationId":"locSim0002"}"#)
                #expect(json.body.contains("\"code\":\"target_conflict\""), "\(type ?? "none"): \(json.body)")
                let unread = try await harness.proxy(
                    "POST", "/contacts/", key: client.key, headers: typed + [here], body: #"{"locationId":"locSim0002""#)
                #expect(unread.status == 400, "\(type ?? "none")")
                #expect(unread.body.contains("is not JSON under a JSON Content-Type"), "\(type ?? "none"): \(unread.body)")
                #expect(await harness.simulator.state.calls.count == before)
                let plain = try await harness.proxy("POST", "/contacts/", key: client.key, headers: typed + [here], body: "hello")
                #expect(plain.status == 200, "\(type ?? "none"): \(plain.body)")
                let call = try #require(await harness.simulator.state.calls.last)
                #expect(call.owner == .location("locSim0001"))
                #expect(String(decoding: call.body, as: UTF8.self) == "hello")
            }
        }
    }

    @Test func aBodyTheGatewayCannotReadAsHighLevelDoesIsRefused() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(locations: ["*"], allow: ["contacts.write"])]) { harness in
            try await harness.install()
            let cases: [([(String, String)], String)] = [
                ([Self.form, ("Content-Encoding", "gzip")], "compressed"),
                ([("Content-Type", "application/json; charset=utf-16")], "charset"),
                ([("Content-Type", "application/json"), ("Content-Type", "text/plain")], "more than one Content-Type"),
                ([("Content-Type", "application/json garbage")], "not a media type"),
                ([("Content-Type", "multipart/form-data")], "no boundary"),
            ]
            for (headers, reason) in cases {
                let answer = try await harness.proxy("POST", "/contacts/", key: client.key, headers: headers, body: "locationId=locSim0002")
                #expect(answer.status == 400, "\(headers)")
                #expect(answer.body.contains(reason), "\(headers): \(answer.body)")
            }
            #expect(await harness.simulator.state.calls.isEmpty)
        }
    }

    @Test func aMultipartTextFieldNamesTheTarget() async throws {
        let client = TestClient("uploader")
        try await GatewayHarness.run(clients: ["uploader": client.policy(locations: ["*"], allow: ["medias.write"])]) { harness in
            try await harness.install()
            let type = ("Content-Type", "multipart/form-data; boundary=XyZ")
            let body =
                "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
                + "--XyZ\r\nContent-Disposition: form-data; name=\"locationId\"\r\n\r\nlocSim0002\r\n--XyZ--\r\n"
            let conflict = try await harness.proxy(
                "POST", "/medias/upload-file", key: client.key, headers: [type, ("X-Location-Id", "locSim0001")], body: body)
            #expect(conflict.body.contains("\"code\":\"target_conflict\""), "\(conflict.body)")
            #expect(conflict.body.contains("multipart body"))
            let alone = try await harness.proxy("POST", "/medias/upload-file", key: client.key, headers: [type], body: body)
            #expect(alone.status == 200, "\(alone.body)")
            let call = try #require(await harness.simulator.state.calls.last)
            #expect(call.owner == .location("locSim0002"))
            #expect(String(decoding: call.body, as: UTF8.self) == body)
            let extended = "--XyZ\r\nContent-Disposition: form-data; name*=utf-8''locationId\r\n\r\nlocSim0002\r\n--XyZ--\r\n"
            let refused = try await harness.proxy("POST", "/medias/upload-file", key: client.key, headers: [type], body: extended)
            #expect(refused.status == 400)
            #expect(refused.body.contains("name*"))
        }
    }
}
