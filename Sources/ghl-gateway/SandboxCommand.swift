import ArgumentParser
import GatewaySandbox
import Logging

struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Run a simulated HighLevel and a gateway wired to it, and print what to try.")

    @Option(help: "Proxy listener port.") var proxyPort = 8080
    @Option(help: "Public (install, webhooks) listener port.") var publicPort = 8081
    @Option(help: "Admin listener port.") var adminPort = 9090
    @Option(help: "Simulator port (0: any free port).") var simulatorPort = 0
    @Option(help: "The directory with highlevel-scopes.md and catalog-overrides.yaml.") var policies = "policies"
    @Flag(help: "Run the install → proxied call → token health flow, print the result and exit.") var selfTest = false

    func run() async throws {
        let sandbox = Sandbox(
            ports: .init(proxy: proxyPort, public: publicPort, admin: adminPort, simulator: simulatorPort),
            policiesSource: policies, logLevel: selfTest ? .warning : .notice)
        do {
            if selfTest {
                try await sandbox.run { session in
                    try await SandboxClient.with(session) { client in try await client.selfTest { print($0) } }
                    print("sandbox self-test passed")
                }
            } else {
                try await sandbox.run()
            }
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}
