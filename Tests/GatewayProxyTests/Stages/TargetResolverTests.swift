import GatewayPolicy
import HTTPTypes
import Testing

@testable import GatewayProxy
@testable import GatewayRuntime

@Suite("Stage: target resolution")
struct TargetResolverTests {
    let fixture: StageFixture
    let resolver = TargetResolver()

    init() throws {
        fixture = try StageFixture(locations: ["locA", "locB"], companies: ["cmpA"])
    }

    private func resolve(
        _ path: String, method: String = "GET", headers: HTTPFields = [:], body: BodyTarget? = nil
    ) throws(GatewayError) -> RequestTarget {
        let routed = try! fixture.routed(method, path)
        return try resolver.resolve(match: routed.match, query: routed.target.query, headers: headers, body: body, client: fixture.client)
    }

    @Test func everyPlaceNamesTheLocation() throws {
        #expect(try resolve("/locations/locA").location == "locA")
        #expect(try resolve("/contacts/x?locationId=locA").location == "locA")
        #expect(try resolve("/contacts/x?locationId%5B%5D=locA").location == "locA")
        #expect(try resolve("/contacts/x?locationId[0]=locA").location == "locA")
        #expect(try resolve("/contacts/x", headers: [TargetResolver.locationHeader: "locA"]).location == "locA")
        #expect(try resolve("/contacts/", method: "POST", body: BodyTarget(fields: ["locationId": ["locA"]], place: "JSON body")).location == "locA")
        #expect(try resolve("/contacts/x", headers: [TargetResolver.companyHeader: "cmpA"]).company == "cmpA")
    }

    @Test func placesThatDisagreeAreAConflict() {
        #expect(throws: GatewayError.self) { try resolve("/locations/locA?locationId=locB") }
        do {
            _ = try resolve("/contacts/x?locationId=locA", headers: [TargetResolver.locationHeader: "locB"])
            Issue.record("a conflict was resolved")
        } catch {
            #expect(error.code == .targetConflict)
            #expect(error.message == "the location in the query ('locA') differs from the one in the X-Location-Id header ('locB')")
        }
        #expect(throws: GatewayError.self) {
            try resolve("/contacts/?locationId=locA", method: "POST", body: BodyTarget(fields: ["locationId": ["locB"]], place: "form body"))
        }
        #expect(throws: GatewayError.self) { try resolve("/contacts/x?locationId=locA&locationId[]=locB") }
    }

    /// `é` and `e` + U+0301 are one `String` to Swift and two ids to HighLevel.
    @Test func idsAreComparedByteForByte() {
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        #expect(composed == decomposed)
        #expect(throws: GatewayError.self) {
            try resolve("/contacts/?locationId=caf%C3%A9", method: "POST", body: BodyTarget(fields: ["locationId": [decomposed]], place: "JSON body"))
        }
        #expect(TargetList.only([composed]).contains(composed))
        #expect(!TargetList.only([composed]).contains(decomposed))
        #expect(TargetList.all.contains(decomposed))
    }

    @Test func anEmptyIdIsRefused() {
        do {
            _ = try resolve("/contacts/x?locationId=")
            Issue.record("an empty location was accepted")
        } catch {
            #expect(error.code == .badRequest)
        }
    }

    @Test func aClientWithOneLocationMayOmitIt() throws {
        let single = try StageFixture(locations: ["locOnly"])
        let routed = try single.routed("GET", "/contacts/x")
        let target = try resolver.resolve(match: routed.match, query: nil, headers: [:], body: nil, client: single.client)
        #expect(target == RequestTarget(location: "locOnly", company: nil))
        // With two, nothing is guessed.
        #expect(try resolve("/contacts/x") == RequestTarget(location: nil, company: "cmpA"))
    }

    @Test func aQueryWithoutTargetNamesIsNotParsed() throws {
        #expect(try TargetResolver.queryValues("a=1&b=2").isEmpty)
        #expect(try TargetResolver.queryValues("loc%61tionId=x") == ["locationId": ["x"]])
        #expect(try TargetResolver.queryValues("locationId=a+b%20c") == ["locationId": ["a b c"]])
        #expect(try TargetResolver.queryValues("%5BcompanyId%5D=c") == ["companyId": ["c"]])
    }
}
