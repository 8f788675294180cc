import HTTPTypes
import Testing

@testable import GatewayProxy
@testable import GatewayRuntime

@Suite("Stage: body plan")
struct ProxyStagesTests {
    let stages = ProxyStages(limits: GatewayConfiguration.Limits())

    private func plan(_ fields: [(String, String)]) throws(GatewayError) -> ProxyStages.BodyPlan {
        var headers: HTTPFields = [.contentLength: "10"]
        for (name, value) in fields { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return try stages.bodyPlan(headers)
    }

    @Test func bodiesHighLevelParsesAreInspected() throws {
        let limits = GatewayConfiguration.Limits()
        #expect(try plan([("Content-Type", "application/problem+json; charset=UTF-8")]) == .inspect(.json, limit: limits.inspectJSONBytes))
        #expect(try plan([("Content-Type", "application/x-www-form-urlencoded")]) == .inspect(.form, limit: limits.inspectJSONBytes))
        #expect(
            try plan([("Content-Type", "multipart/form-data; boundary=zz")])
                == .inspect(.multipart(boundary: "zz"), limit: limits.inspectMultipartBytes))
        #expect(try plan([("Content-Type", "text/plain")]) == .inspect(.undeclared, limit: limits.inspectJSONBytes))
        #expect(try plan([]) == .inspect(.undeclared, limit: limits.inspectJSONBytes))
        #expect(try plan([("Content-Type", "application/octet-stream")]) == .buffer(length: 10))
        #expect(
            try plan([("Content-Type", "application/json"), ("Content-Encoding", "identity")]) == .inspect(.json, limit: limits.inspectJSONBytes))
    }

    @Test func aBodyThatCannotBeReadAsHighLevelReadsItIsRefused() {
        let refused: [[(String, String)]] = [
            [("Content-Type", "application/x-www-form-urlencoded"), ("Content-Encoding", "gzip")],
            [("Content-Type", "application/json; charset=iso-8859-1")],
            [("Content-Type", "application/json"), ("Content-Type", "application/json")],
            [("Content-Type", "application/json;x")],
            [("Content-Type", "multipart/form-data")],
        ]
        for fields in refused {
            #expect(throws: GatewayError.self, "\(fields)") { try plan(fields) }
        }
    }

    @Test func aFormBodysTargetIsDecodedAsTheQueryIs() throws {
        let target = try stages.target(of: .form, bytes: Array("a=1&location%49d%5B%5D=loc+1".utf8))
        #expect(target == BodyTarget(fields: ["locationId": ["loc 1"]], place: "form body"))
    }
}
