import ArgumentParser
import GatewayRuntime

@main
struct GHLGateway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ghl-gateway",
        abstract: "OAuth gateway and reverse proxy for the HighLevel API.",
        version: GatewayVersion.current,
        subcommands: [
            ServeCommand.self, ConfigCommand.self, SandboxCommand.self, ScopesCommand.self, PolicyCommand.self, KeysCommand.self, TokensCommand.self,
            WebhooksCommand.self, StorageCommand.self, AuditCommand.self,
        ]
    )
}
