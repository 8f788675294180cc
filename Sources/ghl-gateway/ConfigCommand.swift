import ArgumentParser
import GatewayRuntime
import GatewayServer
import Logging

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check a gateway configuration.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Every check serve makes before it opens the database or binds a port (the configuration, its secrets, the policies and their catalog, webhook keys, TLS files), with no side effect; then warnings. Exit 2 when serve would not start."
        )

        @Option(help: "The gateway configuration (YAML).") var config: String

        func run() async throws {
            let configuration = try loadConfiguration(config)
            var logger = Logger(label: "ghl-gateway")
            logger.logLevel = .critical
            let preflight: GatewayPreflight
            do {
                preflight = try GatewayPreflight(configuration, metrics: GatewayMetrics(), logger: logger)
            } catch {
                printError("error: \(error)")
                throw ExitCode(2)
            }
            let warnings = preflight.warnings(configuration)
            for warning in warnings { print("warning: \(warning)") }
            let snapshot = preflight.policies.snapshot
            print(
                "ok: \(config): listeners proxy \(configuration.listen.proxy), public \(configuration.listen.public), "
                    + "admin \(configuration.listen.admin); storage \(configuration.storage.database); "
                    + "\(snapshot.policies.clients.count) client(s), \(snapshot.catalog.routes.count) routes"
                    + (warnings.isEmpty ? "" : "; \(warnings.count) warning(s)"))
        }
    }
}
