import Testing

@testable import ScopeCatalog

@Suite("OpenAPI specification reader")
struct OpenAPISpecTests {
    private static func spec(_ text: String) -> OpenAPISpec {
        OpenAPISpec(parsing: Array(text.utf8), file: "s.json")
    }

    @Test func operationsCarryTheirPathScopesTokenKindsAndLine() throws {
        let spec = Self.spec(
            """
            {
              "openapi": "3.0.0",
              "info": {"title": "t", "x": [1, -2.5e3, true, false, null, {"nested": ["\\u00e9\\n"]}]},
              "paths": {
                "/contacts/{contactId}": {
                  "parameters": [],
                  "get": {
                    "summary": "a \\"quoted\\" {brace}",
                    "security": [{"bearer": ["contacts.readonly"]}, {"Location-Access": ["contacts.readonly"]}]
                  },
                  "delete": {"security": [{"Location-Access-Only": ["contacts.write"]}]}
                },
                "/oauth/installedLocations/": {
                  "get": {"security": [{"Agency-Access-Only": ["oauth.readonly"]}, {"Agency-Access": ["oauth.readonly"]}]}
                },
                "/links": {
                  "get": {"security": [{"bearer": ["links.readonly"]}]},
                  "post": {"security": [{"Agency-Access": []}]},
                  "options": {}
                }
              }
            }
            """)
        #expect(!spec.diagnostics.contains { $0.severity == .error })
        let byRoute = Dictionary(uniqueKeysWithValues: spec.operations.map { ("\($0.method.rawValue) \($0.template)", $0) })
        #expect(
            byRoute.keys.sorted() == [
                "DELETE /contacts/:contactId", "GET /contacts/:contactId", "GET /links", "GET /oauth/installedLocations", "POST /links",
            ])
        let contact = try #require(byRoute["GET /contacts/:contactId"])
        #expect(contact.path == "/contacts/{contactId}")
        #expect(contact.scopes == ["contacts.readonly"])
        #expect(contact.access == [.subAccount] && contact.anyTokenKind)
        #expect(contact.location == SourceLocation(file: "s.json", line: 7))
        #expect(byRoute["DELETE /contacts/:contactId"]?.access == [.subAccountOnly])
        #expect(byRoute["DELETE /contacts/:contactId"]?.location.line == 11)
        // Requirements are alternatives: the plain kind admits what its -Only form does.
        #expect(byRoute["GET /oauth/installedLocations"]?.access == [.agency])
        #expect(byRoute["GET /links"]?.effectiveAccess == [.subAccount, .agency])
        #expect(byRoute["POST /links"]?.scopes == [])
        #expect(spec.diagnostics.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.trailingSlash, .unsupportedMethod])
    }

    @Test func topLevelSecurityAppliesToOperationsWithoutTheirOwn() {
        let spec = Self.spec(
            """
            {"paths": {"/a": {"get": {}, "put": {"security": []}}}, "security": [{"Agency-Access": ["a.readonly"]}]}
            """)
        let scopes = Dictionary(uniqueKeysWithValues: spec.operations.map { ($0.method, $0.scopes) })
        #expect(scopes == [.GET: ["a.readonly"], .PUT: []])
    }

    @Test func anUnknownSecuritySchemeIsIgnoredWithAWarning() {
        let spec = Self.spec(#"{"paths": {"/a": {"get": {"security": [{"api-key": ["a.write"]}, {"Location-Access": ["a.readonly"]}]}}}}"#)
        #expect(spec.operations.first?.scopes == ["a.readonly"])
        #expect(spec.diagnostics.map(\.kind) == [.unknownSecurityScheme])
    }

    @Test(arguments: [
        ("{\"paths\": {\"/a\": {\"get\": {}}}", 1, "expected ',' or '}' in an object"),
        ("{\"paths\":\n {\"/a\": {\"get\": {\"security\": [{\"bearer\": [1]}]}}}}", 2, "a security scope must be a string"),
        ("[]", 1, "an OpenAPI document is a JSON object"),
        ("{\"a\": \"\u{01}\"}", 1, "control character inside a string"),
        ("{\"a\": tru}", 1, "unexpected literal"),
        ("{\"a\": 1-2}", 1, "malformed number"),
        ("{\"a\": \"\\ud800\"}", 1, "unpaired surrogate in a string"),
        ("{} {}", 1, "text after the document"),
        (String(repeating: "[", count: 150) + String(repeating: "]", count: 150), 1, "an OpenAPI document is a JSON object"),
        ("{\"a\":" + String(repeating: "[", count: 150) + String(repeating: "]", count: 150) + "}", 1, "nesting deeper than 100 levels"),
    ])
    func malformedJSONIsOneErrorWithItsLine(text: String, line: Int, message: String) {
        let spec = Self.spec(text)
        #expect(spec.operations.isEmpty)
        #expect(spec.diagnostics.map(\.description) == ["s.json:\(line): malformed_spec: invalid JSON: \(message)"])
    }

    @Test func invalidUTF8IsMalformed() {
        let spec = OpenAPISpec(parsing: Array(#"{"paths": {"/"#.utf8) + [0xFF] + Array(#"": {}}}"#.utf8), file: "s.json")
        #expect(spec.diagnostics.map(\.description) == ["s.json:1: malformed_spec: invalid JSON: invalid UTF-8 in a string"])
    }

    @Test(arguments: ["/a/{b}.json", "/a/x{b}", "/a//b", "/a/{}", "/a/:b"])
    func pathsThatAreNotTemplatesAreErrors(path: String) {
        let spec = Self.spec(#"{"paths": {"\#(path)": {"get": {"security": [{"bearer": ["a.readonly"]}]}}}}"#)
        #expect(spec.operations.isEmpty)
        #expect(spec.diagnostics.map(\.kind) == [.malformedOperation])
        #expect(spec.diagnostics.first?.severity == .error)
    }
}
