import ArgumentParser

@main
struct GHLGateway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ghl-gateway",
        abstract: "OAuth gateway and reverse proxy for the HighLevel API.",
        subcommands: [ServeCommand.self, SandboxCommand.self, ScopesCommand.self, PolicyCommand.self, KeysCommand.self, TokensCommand.self, WebhooksCommand.self, StorageCommand.self]
    )
}
