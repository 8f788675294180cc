import ArgumentParser
import Foundation
import GatewayServer
import HighLevelOAuth
import Logging
import TokenVault

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "List, refresh or revoke stored HighLevel tokens (never printing one).",
        subcommands: [List.self, Refresh.self, Revoke.self])

    struct OwnerOptions: ParsableArguments {
        @Option(help: "A location (sub-account) id.") var location: String?
        @Option(help: "A company (agency) id.") var company: String?

        func validate() throws {
            guard (location == nil) != (company == nil) else {
                throw ValidationError("give exactly one of --location ID or --company ID")
            }
        }

        var owner: TokenOwner { location.map(TokenOwner.location) ?? .company(company!) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A table of tokens and installations: kind, company, location, scopes, expiry, status.")
        @Option(help: "The gateway configuration (YAML).") var config: String

        func run() async throws {
            try await withGateway(config: config) { gateway in
                print(TokenInventory.table(try await TokenInventory(vault: gateway.vault).rows()))
            }
        }
    }

    struct Refresh: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refresh (or re-exchange) one token now.")
        @Option(help: "The gateway configuration (YAML).") var config: String
        @OptionGroup var owner: OwnerOptions

        func run() async throws {
            try await withGateway(config: config) { gateway in
                do {
                    let token = try await gateway.broker.refresh(owner.owner)
                    print("refreshed \(owner.owner): version \(token.version), expires \(token.expiresAt)")
                } catch {
                    printError("error: \(error)")
                    throw ExitCode(1)
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete the stored token and mark the installation uninstalled; HighLevel access then needs a reinstall.")
        @Option(help: "The gateway configuration (YAML).") var config: String
        @OptionGroup var owner: OwnerOptions

        func run() async throws {
            try await withGateway(config: config) { gateway in
                guard try await gateway.vault.installation(owner.owner) != nil else {
                    printError("error: \(owner.owner) is not installed")
                    throw ExitCode(1)
                }
                try await gateway.vault.uninstall(owner.owner)
                print("revoked \(owner.owner): token deleted, installation marked uninstalled")
            }
        }
    }
}
