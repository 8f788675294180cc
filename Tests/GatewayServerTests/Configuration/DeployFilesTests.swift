import Foundation
import GatewayPolicy
import GatewayServer
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
        return directory.write("gateway.yaml", text
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
        #expect(configuration.highlevel.webhookEd25519PublicKeys == [WebhookVerifier.publishedEd25519PEM])
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
        let budget = try #require(try Yams.load(yaml: String(contentsOfFile: Self.deploy + "/kubernetes/pdb.yaml", encoding: .utf8)) as? [String: Any])
        #expect((budget["spec"] as? [String: Any])?["minAvailable"] as? Int == 2)
        let kustomization = try String(contentsOfFile: Self.deploy + "/kubernetes/kustomization.yaml", encoding: .utf8)
        #expect(kustomization.contains("pdb.yaml") && !kustomization.contains("pvc.yaml"))
        #expect(deployment.contains("path: /readyz"))
        #expect(deployment.contains("path: /healthz"))
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
