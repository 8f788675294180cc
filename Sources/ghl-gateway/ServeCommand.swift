import ArgumentParser
import GatewayRuntime
import GatewayServer
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the gateway: public (install) listener and the proactive token refresher.")

    @Option(help: "The gateway configuration (YAML).") var config: String

    func run() async throws {
        MallocTuning.limitArenas()
        let configuration = try loadConfiguration(config)
        configuration.logging.bootstrap()
        let logger = Logger(label: "ghl-gateway")
        let gateway = try await openGateway(configuration, logger: logger)
        logger.info(
            "starting",
            metadata: [
                "version": "\(GatewayVersion.current)", "public": "\(configuration.listen.public)",
                "database": "\(configuration.storage.database)",
            ])
        do {
            try await gateway.run()
        } catch let error as GatewayStartupError {
            printError("error: \(error)")
            throw ExitCode(2)
        }
    }
}

/// Loads the configuration or exits 2 with one line naming the key.
func loadConfiguration(_ path: String) throws -> GatewayConfiguration {
    do {
        return try GatewayConfiguration.load(path: path)
    } catch {
        printError("error: \(error)")
        throw ExitCode(2)
    }
}

/// Opens the vault and clients or exits 2 with the reason (a wrong encryption key, an unwritable database).
func openGateway(_ configuration: GatewayConfiguration, logger: Logger) async throws -> Gateway {
    do {
        return try await Gateway.open(configuration, logger: logger)
    } catch {
        printError("error: \(error)")
        throw ExitCode(2)
    }
}

/// Opens the gateway for a one-shot command and closes its HTTP client afterwards, whatever happens.
func withGateway(config path: String, _ body: (Gateway) async throws -> Void) async throws {
    let gateway = try await openGateway(try loadConfiguration(path), logger: Logger(label: "ghl-gateway"))
    do {
        try await body(gateway)
    } catch {
        try? await gateway.close()
        throw error
    }
    try await gateway.close()
}
