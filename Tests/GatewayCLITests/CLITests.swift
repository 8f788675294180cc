import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

/// The `ghl-gateway` binary as users and scripts run it.
@Suite("Command line", .load(.heavy))
struct CLITests {
    static let binary = ServeFixture.binary
    static let root = GatewayHarness.repositoryRoot

    /// The shipped catalog's three sources, named explicitly.
    static let shipped = [
        "--catalog", root + "/policies/highlevel-scopes.md", "--overrides", root + "/policies/catalog-overrides.yaml",
        "--openapi", root + "/policies/openapi",
    ]

    static func run(_ arguments: String...) async throws -> (status: Int32, text: String) {
        try await ChildProcess.run(binary, arguments)
    }

    /// One version everywhere: the binary's `--version`, CHANGELOG.md's newest entry; a licence.
    @Test func theVersionIsPrintedAndMatchesTheChangelog() async throws {
        let printed = try await Self.run("--version")
        #expect(printed.status == 0)
        let version = printed.text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(version.split(separator: ".").count == 3 && version.allSatisfy { $0.isNumber || $0 == "." }, "\(version)")
        let changelog = try String(contentsOfFile: Self.root + "/CHANGELOG.md", encoding: .utf8)
        let newest = changelog.split(separator: "\n").first { $0.hasPrefix("## [") && !$0.hasPrefix("## [Unreleased]") }
        #expect(newest?.hasPrefix("## [\(version)] - ") == true, "\(newest ?? "no release entry")")
        let licence = try String(contentsOfFile: Self.root + "/LICENSE", encoding: .utf8)
        #expect(licence.contains("Apache License") && licence.contains("Version 2.0, January 2004"))
        #expect(FileManager.default.fileExists(atPath: Self.root + "/SECURITY.md"))
    }

    /// From a folder with no `policies/`: the catalog built into the binary (table, overrides,
    /// OpenAPI specs); a policies folder with only client files takes it too.
    @Test func theCommandsWorkFromAnyFolderWithTheBuiltInCatalog() async throws {
        let elsewhere = TemporaryDirectory()
        let lookup = try await ChildProcess.run("/bin/sh", ["-c", "cd \(elsewhere.path) && exec \(Self.binary) scopes lookup GET /brand-boards/l1"])
        #expect(lookup.status == 0, "\(lookup.text)")
        #expect(lookup.text.contains(#""sources":["openapi"]"#), "\(lookup.text)")
        let client = TestClient("svc")
        elsewhere.write("clients-only/clients/svc.yaml", client.policy(allow: ["contacts.readonly", "calendars/events.readonly"]))
        let shipped = try await Self.run("policy", "check", "--policies", Self.root + "/policies")
        let check = try await ChildProcess.run(
            "/bin/sh", ["-c", "cd \(elsewhere.path) && exec \(Self.binary) policy check --policies \(elsewhere.file("clients-only"))"])
        #expect(check.status == 0, "\(check.text)")
        // The same catalog as the shipped folder's, with the one client.
        let summary = { (text: String) in text.split(separator: "\n").first { $0.hasPrefix("ok: ") }.map(String.init) }
        #expect(
            summary(check.text) == summary(shipped.text)?.replacingOccurrences(of: "ok: 0 client(s)", with: "ok: 1 client(s)"),
            "\(check.text) vs \(shipped.text)")
    }

    /// serve's checks, with no side effect: no database file, no port; warnings for what serve
    /// accepts but an operator should look at; exit 2 for what would stop serve.
    @Test func configCheckRunsServesChecksWithoutSideEffects() async throws {
        let directory = TemporaryDirectory()
        let policies = try directory.policies()
        let client = TestClient("svc")
        directory.write("policies/clients/svc.yaml", client.policy(allow: ["contacts.readonly"]))
        func config(_ extra: String = "") -> String {
            directory.write(
                "gateway.yaml",
                """
                listen: {proxy: "127.0.0.1:0", public: "127.0.0.1:0", admin: "127.0.0.1:0"}
                public_url: https://gateway.example.com
                highlevel:
                  client_id: 65f0abc-xyz
                  client_secret: file:\(directory.write("secret", "s3cret"))
                  install_scopes: [contacts.readonly, contacts.nope]
                storage:
                  sqlite_path: \(directory.file("gateway.sqlite"))
                  encryption_key: file:\(directory.write("key", Data(repeating: 3, count: 32).base64EncodedString()))
                admin_token: file:\(directory.write("admin", "admin-token-0123456789"))
                policies_dir: \(policies)
                \(extra)
                """)
        }
        let checked = try await Self.run("config", "check", "--config", config())
        #expect(checked.status == 0, "\(checked.text)")
        #expect(checked.text.contains("warning: highlevel.install_scopes: the catalog knows no scope contacts.nope"))
        #expect(checked.text.contains("warning: public_url: https://gateway.example.com is the example's"))
        #expect(checked.text.contains("1 client(s), 313 routes; 2 warning(s)"), "\(checked.text)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("gateway.sqlite")), "no database is opened")

        // A catalog that does not compile stops serve: the same here.
        directory.write("policies/catalog-overrides.yaml", "overrides:\n  - correct: GET /nowhere\n    scopes: [contacts.readonly]\n")
        let broken = try await Self.run("config", "check", "--config", config())
        #expect(broken.status == 2, "\(broken.text)")
        #expect(broken.text.contains("catalog-overrides.yaml:2"), "\(broken.text)")
    }

    /// `policy check --config` loads what serve would (the file's policies_dir, without its
    /// secrets); `--no-secrets` checks webhook secrets' references by form; ignored files and an
    /// empty set are warned about.
    @Test func policyCheckLoadsWhatServeWouldWithoutItsSecrets() async throws {
        let directory = TemporaryDirectory()
        let policies = try directory.policies(at: "elsewhere")
        let config = directory.write(
            "gateway.yaml",
            """
            public_url: https://gateway.example.com
            highlevel: {client_id: 65f0abc-xyz, client_secret: env:NOT_HERE, install_scopes: [contacts.readonly]}
            storage: {sqlite_path: /nonexistent/g.sqlite, encryption_key: env:NOT_HERE}
            admin_token: env:NOT_HERE
            policies_dir: \(policies)
            """)
        let empty = try await Self.run("policy", "check", "--config", config)
        #expect(empty.status == 0, "\(empty.text)")
        #expect(empty.text.contains("warning: no client policy: every call is denied"))

        let client = TestClient("crm")
        directory.write(
            "elsewhere/clients/crm.yaml",
            client.policy(allow: ["contacts.readonly"]) + """

                webhooks:
                  url: https://crm.internal/events
                  secret: env:CRM_WEBHOOK_SECRET_NOT_SET
                  events: [ContactCreate]
                """)
        directory.write("elsewhere/clients/crm.yml.bak", "client: old\n")
        let strict = try await Self.run("policy", "check", "--config", config)
        #expect(strict.status == 1)
        #expect(strict.text.contains("CRM_WEBHOOK_SECRET_NOT_SET"), "\(strict.text)")
        let formOnly = try await Self.run("policy", "check", "--config", config, "--no-secrets")
        #expect(formOnly.status == 0, "\(formOnly.text)")
        #expect(formOnly.text.contains("warning: \(policies)/clients/crm.yml.bak is not loaded"), "\(formOnly.text)")
        #expect(formOnly.text.contains("ok: 1 client(s)"), "\(formOnly.text)")
        directory.write(
            "elsewhere/clients/crm.yaml",
            client.policy(allow: ["contacts.readonly"]) + """

                webhooks:
                  url: https://crm.internal/events
                  secret: whsec_inline
                  events: [ContactCreate]
                """)
        let inline = try await Self.run("policy", "check", "--config", config, "--no-secrets")
        #expect(inline.status == 1 && inline.text.contains("must be written as env:NAME or file:/path"), "\(inline.text)")
    }

    @Test func scopesLookupPrintsOneJSONObject() async throws {
        let table = ["--catalog", Self.root + "/policies/highlevel-scopes.md"]
        let both = table + ["--openapi", Self.root + "/policies/openapi"]
        let found = try await ChildProcess.run(Self.binary, ["scopes", "lookup", "GET", "/contacts/abc?x=1"] + both)
        #expect(found.status == 0)
        #expect(
            found.text
                == #"{"method":"GET","template":"/contacts/:contactId","params":{"contactId":"abc"},"scopes":["contacts.readonly"],"access":["Sub-Account"],"sources":["table","openapi"]}"#
                + "\n")
        let specOnly = try await ChildProcess.run(Self.binary, ["scopes", "lookup", "GET", "/brand-boards/loc1"] + both)
        #expect(
            specOnly.text
                == #"{"method":"GET","template":"/brand-boards/:locationId","params":{"locationId":"loc1"},"scopes":["brand-boards/design-kit.readonly"],"access":["Sub-Account"],"sources":["openapi"]}"#
                + "\n")
        let empty = TemporaryDirectory()
        let tableOnly = try await ChildProcess.run(Self.binary, ["scopes", "lookup", "GET", "/contacts/abc", "--openapi", empty.path] + table)
        #expect(tableOnly.text.hasSuffix(#""sources":["table"]}"# + "\n"))

        let missing = try await ChildProcess.run(Self.binary, ["scopes", "lookup", "GET", "/nope"] + both)
        #expect(missing.status == 1)
        #expect(missing.text.hasPrefix(#"{"error":{"code":"route_unknown","message":"no HighLevel route matches GET /nope"#))
        let unscoped = try await ChildProcess.run(Self.binary, ["scopes", "lookup", "GET", "/brand-boards/locations/l1/brand-voices"] + both)
        #expect(unscoped.status == 1)
        #expect(unscoped.text.contains("GET /brand-boards/locations/:locationId/brand-voices is documented by HighLevel without a scope"))
        let unreadable = try await Self.run("scopes", "lookup", "GET", "/contacts/a", "--catalog", "/nonexistent.md")
        #expect(unreadable.status == 2)
        #expect(unreadable.text == "error: cannot read /nonexistent.md: no such file\n")
    }

    @Test func scopesCompileSummarisesEachSourceAndListsDiagnostics() async throws {
        let compiled = try await ChildProcess.run(Self.binary, ["scopes", "compile"] + Self.shipped)
        #expect(compiled.status == 0)
        #expect(
            compiled.text.hasPrefix(
                """
                routes: 579
                unroutable: 93 (documented without a scope; give one in catalog-overrides.yaml)
                scopes: 147
                events: 69
                sources:
                  table: 313 routes, 120 scopes
                  openapi: 663 routes, 131 scopes (1203 operations in 84 files)
                  in both: 304
                  only in table: 9
                  only in openapi: 359
                  only in overrides: 0
                disagreements: 57 (catalog.prefer: table; details: scopes diff)
                  scopes_differ: 4
                  access_types_differ: 46
                  write_under_readonly_scope: 7

                """))
        #expect(compiled.text.contains("highlevel-scopes.md:32: space_in_path: "))
        #expect(compiled.text.contains("catalog-overrides.yaml:12: override_applied: DELETE /funnels/lookup/redirect/:id corrected"))
        let json = try await ChildProcess.run(Self.binary, ["scopes", "compile", "--json"] + Self.shipped)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [String: Any])
        #expect((object["routes"] as? [Any])?.count == 579)
        #expect((object["unroutable"] as? [Any])?.count == 93)
        #expect((object["summary"] as? [String: Any])?["inBoth"] as? Int == 304)

        let noSpecs = TemporaryDirectory()
        let tableOnly = try await Self.run("scopes", "compile", "--catalog", Self.root + "/policies/highlevel-scopes.md", "--openapi", noSpecs.path)
        #expect(tableOnly.text.hasPrefix("routes: 313\nunroutable: 0 "))
        #expect(tableOnly.text.contains("  write_under_readonly_scope: 7\n"))

        let directory = TemporaryDirectory()
        let broken = directory.write("o.yaml", "overrides:\n  - correct: GET /nope\n    scopes: [contacts.readonly]\n")
        let failed = try await Self.run("scopes", "compile", "--catalog", Self.root + "/policies/highlevel-scopes.md", "--overrides", broken)
        #expect(failed.status == 1)
        #expect(failed.text.contains("o.yaml:2: invalid_override: GET /nope: no such route in the catalog"))
    }

    @Test func scopesDiffPrintsEachDisagreementWithBothSources() async throws {
        let diff = try await ChildProcess.run(Self.binary, ["scopes", "diff"] + Self.shipped)
        #expect(diff.status == 0)
        let lines = diff.text.split(separator: "\n")
        #expect(lines.count == 57)
        let delete =
            "DELETE /locations/:locationId: scopes_differ: table says [\"locations.write\"] ("
            + Self.root + "/policies/highlevel-scopes.md:132); openapi says [\"locations.internal-access-only\"] ("
            + Self.root + "/policies/openapi/locations-v3.json:2956, " + Self.root + "/policies/openapi/locations.json:2782); "
        #expect(lines.contains(Substring(delete + "using [\"locations.write\"] (catalog.prefer: table)")))
        let preferred = try await ChildProcess.run(Self.binary, ["scopes", "diff", "--prefer", "openapi"] + Self.shipped)
        #expect(
            preferred.text.split(separator: "\n").contains(Substring(delete + "using [\"locations.internal-access-only\"] (catalog.prefer: openapi)"))
        )
        let json = try await ChildProcess.run(Self.binary, ["scopes", "diff", "--json"] + Self.shipped)
        #expect((try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [Any])?.count == 57)
    }

    @Test func keysNewAndPolicyCheckAndExplain() async throws {
        let directory = TemporaryDirectory()
        try directory.policies(at: "")
        let keys = try await Self.run("keys", "new", "--client", "billing")
        #expect(keys.status == 0)
        let lines = keys.text.split(separator: "\n")
        let key = try #require(lines.first { $0.hasPrefix("ghlgw_") })
        let hashLine = try #require(lines.first { $0.hasPrefix("key: sha256:") })
        #expect(key.count == 49)
        directory.write("clients/billing.yaml", "client: billing\n\(hashLine)\nlocations: [loc1]\nallow: [contacts.readonly]\n")

        let check = try await Self.run("policy", "check", "--policies", directory.path)
        #expect(check.status == 0)
        #expect(check.text == "ok: 1 client(s), 313 routes, 120 scopes\n")
        let allowed = try await Self.run("policy", "explain", "--client", "billing", "GET", "/contacts/c1", "--policies", directory.path)
        #expect(allowed.status == 0)
        #expect(allowed.text.contains("token: location:loc1"))
        let denied = try await Self.run("policy", "explain", "--client", "billing", "DELETE", "/contacts/c1", "--policies", directory.path)
        #expect(denied.status == 1)
        #expect(denied.text.contains("deny: no allow rule of billing covers DELETE /contacts/:contactId"))
        let tool = try await Self.run(
            "policy", "explain", "--client", "billing", "--tool", "get_contact", "--arg", "contactId=c1", "--location", "loc1", "--policies",
            directory.path)
        #expect(tool.status == 0, "\(tool.text)")
        #expect(tool.text.contains("tool: get_contact → GET /contacts/c1"))
        let notATool = try await Self.run(
            "policy", "explain", "--client", "billing", "--tool", "create_contact", "--arg", "firstName=", "--policies", directory.path)
        #expect(notATool.status == 1)
        #expect(notATool.text.contains("deny: create_contact is not a tool of billing"))

        directory.write("clients/broken.yaml", "client: broken\nkey: \(key)\n")
        let rejected = try await Self.run("policy", "check", "--policies", directory.path)
        #expect(rejected.status == 1)
        #expect(rejected.text.contains("broken.yaml:2: this looks like a key itself"))
        #expect(!rejected.text.contains(String(key)))
    }

    @Test func serveRefusesABadConfigurationWithOneLine() async throws {
        let directory = TemporaryDirectory()
        let config = directory.write("g.yaml", "public_url: https://g.example.com\nadmin_token: env:NOPE\nhighlevel: {}\nstorage: {}\n")
        let result = try await Self.run("serve", "--config", config)
        #expect(result.status == 2)
        #expect(result.text == "error: \(config):3: highlevel: 'highlevel' is missing 'client_id'\n")
    }

    @Test func sandboxSelfTestRunsTheWholeFlow() async throws {
        let result = try await ChildProcess.run(
            Self.binary,
            ["sandbox", "--self-test", "--proxy-port", "0", "--public-port", "0", "--admin-port", "0", "--policies", Self.root + "/policies"])
        #expect(result.status == 0, "\(result.text)")
        for line in [
            "install: ok", "marketplace install: ok", "proxied call: ok", "token health: ok (2 healthy tokens)", "webhook fan-out: ok",
            "sandbox self-test passed",
        ] {
            #expect(result.text.contains(line))
        }
    }
}

@Suite("tokens command", .load(.heavy))
struct TokensCommandTests {
    @Test func listsAndRevokesWithoutPrintingATokenValue() async throws {
        let fixture = try ServeFixture(simulatorURL: "http://127.0.0.1:1", simulator: .init())
        let empty = try await ChildProcess.run(CLITests.binary, ["tokens", "list", "--config", fixture.configPath])
        #expect(empty.status == 0)
        #expect(empty.text == "KIND  COMPANY  LOCATION  SCOPES  EXPIRES IN  STATUS\n")
        let missing = try await ChildProcess.run(CLITests.binary, ["tokens", "revoke", "--config", fixture.configPath, "--location", "nope"])
        #expect(missing.status == 1)
        #expect(missing.text == "error: location:nope is not installed\n")
        let both = try await ChildProcess.run(
            CLITests.binary, ["tokens", "refresh", "--config", fixture.configPath, "--location", "a", "--company", "b"])
        #expect(both.status != 0)
        #expect(both.text.contains("give exactly one of --location ID or --company ID"))
    }
}

extension CLITests {
    @Test func webhooksSecretAndPolicyExplainForAnEvent() async throws {
        let made = try await Self.run("webhooks", "secret")
        #expect(made.status == 0)
        let secret = made.text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("whsec_") && Data(base64Encoded: String(secret.dropFirst(6)))?.count == 32)
        #expect(try await Self.run("webhooks", "secret").text != made.text)

        let directory = TemporaryDirectory()
        try directory.policies(at: "")
        directory.write(
            "clients/crm.yaml",
            TestClient("crm").policy(allow: ["contacts.readonly"]) + """

                webhooks:
                  url: https://crm.internal/events
                  secret: file:\(directory.write("secret", secret))
                  events: [ContactCreate]
                """)
        let policies = ["--policies", directory.path]
        let delivered = try await ChildProcess.run(
            Self.binary, ["policy", "explain", "--client", "crm", "--event", "ContactCreate", "--location", "locSim0001"] + policies)
        #expect(delivered.status == 0, "\(delivered.text)")
        #expect(delivered.text.contains("event: ContactCreate scopes: contacts.readonly"))
        #expect(delivered.text.contains("deliver: ContactCreate for location locSim0001, by scope contacts.readonly"))
        let skipped = try await ChildProcess.run(
            Self.binary, ["policy", "explain", "--client", "crm", "--event", "ContactCreate", "--location", "locElse"] + policies)
        #expect(skipped.status == 1)
        #expect(skipped.text.contains("skip: location locElse is not in the locations of crm"))
        #expect(!delivered.text.contains(secret) && !skipped.text.contains(secret))
        let both = try await ChildProcess.run(
            Self.binary, ["policy", "explain", "--client", "crm", "GET", "/contacts/a", "--event", "ContactCreate"] + policies)
        #expect(both.status != 0)
    }
}
