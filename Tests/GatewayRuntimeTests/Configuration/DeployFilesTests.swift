import Foundation
import GatewayPolicy
import GatewayRuntime
import GatewayTestSupport
import Testing
import Yams

/// `deploy/` cannot all run here (no Docker engine, no cluster); what can be checked is.
@Suite("deploy/ files")
struct DeployFilesTests {
    static let deploy = GatewayHarness.repositoryRoot + "/deploy"
    static let environment = [
        "GHL_CLIENT_ID": "65f0abc-xyz", "GHL_CLIENT_SECRET": "secret-value",
        "GHL_GATEWAY_ENCRYPTION_KEY": Data(repeating: 5, count: 32).base64EncodedString(),
        "GHL_GATEWAY_ADMIN_TOKEN": "admin-token-0123456789",
        "GHL_GATEWAY_POSTGRES_URL": "postgres://ghl_gateway:pw@db.internal:5432/ghl_gateway?sslmode=verify-full",
    ]

    /// Writes `text` with its absolute paths moved under a temp directory that holds the PEM files it names.
    private func relocated(_ text: String, _ directory: TemporaryDirectory) throws -> String {
        let signer = WebhookSigner.shared
        try FileManager.default.createDirectory(atPath: directory.file("etc/webhook-keys"), withIntermediateDirectories: true)
        for base in ["etc", "etc/webhook-keys"] {
            directory.write("\(base)/webhook-ed25519.pem", signer.ed25519PublicPEM)
            directory.write("\(base)/webhook-rsa.pem", signer.rsaPublicPEM)
        }
        return directory.write(
            "gateway.yaml",
            text
                .replacingOccurrences(of: "/etc/ghl-gateway/", with: directory.file("etc/"))
                .replacingOccurrences(of: "/var/lib/ghl-gateway/", with: directory.file("")))
    }

    @Test func theExampleConfigurationLoadsWithEveryKey() throws {
        let directory = TemporaryDirectory()
        let text = try String(contentsOfFile: Self.deploy + "/gateway.example.yaml", encoding: .utf8)
        let configuration = try GatewayConfiguration.load(path: try relocated(text, directory), environment: Self.environment)
        #expect(configuration.highlevel.clientId == "65f0abc-xyz")
        #expect(configuration.highlevel.appId == "65f0abc")
        // Webhooks are verified out of the box: HighLevel's published key, no legacy RSA.
        #expect(configuration.highlevel.webhookEd25519PublicKeys == [GatewayConfiguration.HighLevel.publishedEd25519PEM])
        #expect(configuration.highlevel.webhookRSAPublicKey == nil)
        #expect(configuration.install.acceptMarketplaceInstalls)
        #expect(configuration.install.callbackRateLimit == RateLimit(requests: 10, periodSeconds: 60))
        #expect(configuration.logging.format == .json)
        #expect(configuration.shutdownGraceSeconds == 20)
        #expect(configuration.webhooks.retentionHours == 72)
        #expect(configuration.catalogPrefer == .table)
        #expect(configuration.catalogOpenAPIDir == directory.file("etc/policies/openapi"))
        // Every secret is a reference, never a value.
        for line in text.split(separator: "\n") where ["client_secret:", "encryption_key:", "admin_token:"].contains(where: line.contains) {
            #expect(line.contains("env:") || line.contains("file:"), "\(line)")
        }
    }

    @Test func theKubernetesConfigMapHoldsALoadableConfiguration() throws {
        let directory = TemporaryDirectory()
        let manifest = try String(contentsOfFile: Self.deploy + "/kubernetes/configmap-gateway.yaml", encoding: .utf8)
        let object = try #require(try Yams.load(yaml: manifest) as? [String: Any])
        let gatewayYAML = try #require((object["data"] as? [String: Any])?["gateway.yaml"] as? String)
        let configuration = try GatewayConfiguration.load(path: try relocated(gatewayYAML, directory), environment: Self.environment)
        #expect(configuration.listen.proxy.host == "0.0.0.0")
        // The specs come from the image: a ConfigMap (at most 1 MiB) cannot hold them.
        #expect(configuration.catalogOpenAPIDir == "/usr/share/ghl-gateway/openapi")
        let dockerfile = try String(contentsOfFile: Self.deploy + "/Dockerfile", encoding: .utf8)
        #expect(dockerfile.contains("COPY policies/openapi /usr/share/ghl-gateway/openapi"))
        for file in ["deployment.yaml", "services.yaml", "pvc.yaml", "pdb.yaml", "namespace.yaml", "kustomization.yaml", "secret.example.yaml"] {
            let text = try String(contentsOfFile: Self.deploy + "/kubernetes/" + file, encoding: .utf8)
            #expect(try !Array(Yams.load_all(yaml: text)).isEmpty, "\(file)")
        }
        let deployment = try String(contentsOfFile: Self.deploy + "/kubernetes/deployment.yaml", encoding: .utf8)
        #expect(deployment.contains("replicas: 3"))
        #expect(deployment.contains("rollingUpdate: {maxUnavailable: 0, maxSurge: 1}"))
        #expect(!deployment.contains("persistentVolumeClaim"))
        guard case .postgres = configuration.storage.database else {
            Issue.record("the replicas share PostgreSQL")
            return
        }
        let budget = try #require(
            try Yams.load(yaml: String(contentsOfFile: Self.deploy + "/kubernetes/pdb.yaml", encoding: .utf8)) as? [String: Any])
        #expect((budget["spec"] as? [String: Any])?["minAvailable"] as? Int == 2)
        let kustomization = try String(contentsOfFile: Self.deploy + "/kubernetes/kustomization.yaml", encoding: .utf8)
        #expect(kustomization.contains("pdb.yaml") && !kustomization.contains("pvc.yaml"))
        #expect(deployment.contains("path: /readyz"))
        #expect(deployment.contains("path: /healthz"))
    }

    /// The configuration reference's main block, with what it leaves to the reader filled in,
    /// passes `config check` (so the documentation cannot drift from what the gateway accepts).
    @Test func theDocumentedConfigurationPassesConfigCheck() async throws {
        let root = GatewayHarness.repositoryRoot
        let readme = try String(contentsOfFile: root + "/docs/configuration.md", encoding: .utf8)
        let section = try #require(readme.range(of: "\n## Configuration\n"))
        let start = try #require(readme.range(of: "```yaml\n", range: section.upperBound..<readme.endIndex))
        let end = try #require(readme.range(of: "\n```", range: start.upperBound..<readme.endIndex))
        let directory = TemporaryDirectory()
        let signer = WebhookSigner.shared
        let filled = readme[start.upperBound..<end.lowerBound]
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("postgres_url:") }  // the alternative to sqlite_path, shown beside it
            .joined(separator: "\n")
            .replacingOccurrences(of: "65f0...", with: "65f0abc")
            .replacingOccurrences(of: "{version_id: ...}", with: "{version_id: v1}")
            .replacingOccurrences(of: "file:/etc/ghl-gateway/hl.pem", with: "file:" + directory.write("hl.pem", signer.ed25519PublicPEM))
            .replacingOccurrences(of: "file:/etc/ghl-gateway/rsa.pem", with: "file:" + directory.write("rsa.pem", signer.rsaPublicPEM))
            .replacingOccurrences(
                of: "file:/etc/ghl-gateway/old.key", with: "file:" + directory.write("old.key", Data(repeating: 6, count: 32).base64EncodedString())
            )
            .replacingOccurrences(of: "/var/lib/ghl-gateway/", with: directory.file(""))
            .replacingOccurrences(of: "policies_dir: policies", with: "policies_dir: \(root)/policies")
            .replacingOccurrences(of: "openapi_dir: policies/openapi", with: "openapi_dir: \(root)/policies/openapi")
        let config = directory.write("gateway.yaml", filled)
        var environment = ProcessInfo.processInfo.environment.merging(Self.environment) { $1 }
        environment["POD_NAME"] = "gateway-0"
        let check = try await ChildProcess.run(ServeFixture.binary, ["config", "check", "--config", config], environment: environment)
        #expect(check.status == 0, "\(check.text)\n\(filled)")
        #expect(check.text.contains("ok: "), "\(check.text)")
    }

    static let kubectl = ChildProcess.exitStatus("/usr/bin/env", ["kubectl", "version", "--client"]) == 0
    static let kubernetesValidate = ChildProcess.exitStatus("/usr/bin/env", ["kubernetes-validate", "--version"]) == 0

    /// The manifests as `kubectl apply -k` sends them.
    static func rendered() async throws -> (text: String, objects: [[String: Any]]) {
        let render = try await ChildProcess.run("/usr/bin/env", ["kubectl", "kustomize", deploy + "/kubernetes"])
        #expect(render.status == 0, "\(render.text)")
        return (render.text, try Yams.load_all(yaml: render.text).compactMap { $0 as? [String: Any] })
    }

    /// What the pods' policies folder holds: the image's catalog files (the Dockerfile copies
    /// `policies/`) and, as `clients/`, the ConfigMap the Deployment mounts there; `policy check`
    /// on it finds the example client.
    @Test(.enabled(if: kubectl, "kubectl is not installed"))
    func theRenderedManifestsDeliverTheClientPolicies() async throws {
        let objects = try await Self.rendered().objects
        func named(_ kind: String, _ name: String) -> [String: Any]? {
            objects.first { $0["kind"] as? String == kind && ($0["metadata"] as? [String: Any])?["name"] as? String == name }
        }
        let deployment = try #require(named("Deployment", "ghl-gateway"))
        let pod = try #require((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])
        let podSpec = try #require(pod["spec"] as? [String: Any])
        let container = try #require((podSpec["containers"] as? [[String: Any]])?.first)
        let mount = try #require(
            (container["volumeMounts"] as? [[String: Any]])?.first {
                $0["mountPath"] as? String == "/etc/ghl-gateway/policies/clients"
            })
        let volume = try #require((podSpec["volumes"] as? [[String: Any]])?.first { $0["name"] as? String == mount["name"] as? String })
        let configMapName = try #require((volume["configMap"] as? [String: Any])?["name"] as? String)
        let clients = try #require(named("ConfigMap", configMapName)?["data"] as? [String: String])
        #expect(!clients.isEmpty)

        let directory = TemporaryDirectory()
        let policies = GatewayHarness.repositoryRoot + "/policies"
        for file in ["highlevel-scopes.md", "catalog-overrides.yaml"] {
            directory.write("policies/" + file, try String(contentsOfFile: policies + "/" + file, encoding: .utf8))
        }
        for (name, text) in clients { directory.write("policies/clients/" + name, text) }
        let check = try await ChildProcess.run(
            ServeFixture.binary, ["policy", "check", "--policies", directory.file("policies"), "--openapi", policies + "/openapi"])
        #expect(check.status == 0, "\(check.text)")
        #expect(check.text.contains("ok: \(clients.count) client(s)"), "\(check.text)")
    }

    /// Every manifest against Kubernetes' schemas (PyPI `kubernetes-validate`, installed by `.ci/run`).
    @Test(.enabled(if: kubectl && kubernetesValidate, "kubectl or kubernetes-validate is not installed"))
    func everyManifestIsValidKubernetes() async throws {
        let directory = TemporaryDirectory()
        let rendered = directory.write("rendered.yaml", try await Self.rendered().text)
        let kubernetes = Self.deploy + "/kubernetes/"
        let validation = try await ChildProcess.run(
            "/usr/bin/env", ["kubernetes-validate", "--strict", rendered, kubernetes + "pvc.yaml", kubernetes + "secret.example.yaml"])
        #expect(validation.status == 0, "\(validation.text)")
        #expect(!validation.text.contains("ERROR"), "\(validation.text)")
        #expect(validation.text.contains("networkpolicy/ghl-gateway"), "\(validation.text)")
    }

    /// Pods drain before they stop, hold no API token, and only chosen pods reach the proxy and
    /// admin listeners; the optional ServiceMonitor scrapes the admin Service's /metrics.
    @Test(.enabled(if: kubectl, "kubectl is not installed"))
    func podsDrainHoldNoAPITokenAndTheListenersAreFenced() async throws {
        let objects = try await Self.rendered().objects
        let deployment = try #require(objects.first { $0["kind"] as? String == "Deployment" })
        let podSpec = try #require(((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(podSpec["automountServiceAccountToken"] as? Bool == false)
        let container = try #require((podSpec["containers"] as? [[String: Any]])?.first)
        let preStop = ((container["lifecycle"] as? [String: Any])?["preStop"] as? [String: Any])?["exec"] as? [String: Any]
        #expect(preStop?["command"] as? [String] == ["/bin/sleep", "5"])
        let policy = try #require(objects.first { $0["kind"] as? String == "NetworkPolicy" })
        let rules = try #require((policy["spec"] as? [String: Any])?["ingress"] as? [[String: Any]])
        let open = rules.filter { $0["from"] == nil }.flatMap { ($0["ports"] as? [[String: Any]]) ?? [] }.compactMap { $0["port"] as? String }
        #expect(open == ["public"], "only the public listener is open to all")
        let monitor = try #require(
            try Yams.load(yaml: String(contentsOfFile: Self.deploy + "/kubernetes/servicemonitor.yaml", encoding: .utf8)) as? [String: Any])
        let endpoint = try #require(((monitor["spec"] as? [String: Any])?["endpoints"] as? [[String: Any]])?.first)
        #expect(endpoint["port"] as? String == "admin" && endpoint["path"] as? String == "/metrics")
    }

    static let systemdAnalyze = FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")

    @Test(.enabled(if: systemdAnalyze, "systemd-analyze is not installed"))
    func theSystemdUnitVerifiesCleanly() async throws {
        let directory = TemporaryDirectory()
        // verify insists that ExecStart exists; point it at a binary that does.
        let unit = try String(contentsOfFile: Self.deploy + "/systemd/ghl-gateway.service", encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/ghl-gateway", with: "/bin/true")
        let path = directory.write("ghl-gateway.service", unit)
        let result = try await ChildProcess.run("/usr/bin/systemd-analyze", ["verify", path])
        #expect(result.status == 0)
        #expect(result.text.isEmpty, "systemd-analyze: \(result.text)")
        for directive in ["ProtectSystem=strict", "NoNewPrivileges=yes", "StateDirectory=ghl-gateway", "ExecReload=/bin/kill -HUP $MAINPID"] {
            #expect(unit.contains(directive))
        }
    }
}
