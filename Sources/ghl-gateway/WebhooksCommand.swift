import ArgumentParser
import Foundation
import GatewayPolicy
import TokenVault

/// `ghl-gateway webhooks secret|list|retry`: HighLevel's events delivered to internal services.
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks", abstract: "HighLevel's events delivered to internal services.",
        subcommands: [NewSecret.self, List.self, Retry.self])

    struct NewSecret: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "secret", abstract: "Print a new whsec_ signing secret once (32 random bytes).")

        func run() {
            print(WebhookSecret.generate())
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliveries, newest first: id, client, type, status, attempts, last status.")
        @Option(help: "The gateway configuration (YAML).") var config: String
        @Option(help: "Only this client's.") var client: String?
        @Option(help: "pending, delivered or failed.") var status: String?

        func run() async throws {
            try await withGateway(config: config) { gateway in
                let rows = try await gateway.vault.deliveries(client: client, status: status)
                print("id\tclient\ttype\tstatus\tattempts\tlast\twebhookId")
                for row in rows {
                    print(
                        "\(row.id)\t\(row.client)\t\(row.type)\t\(row.status)\t\(row.attempts)\t\(row.lastStatus.map(String.init) ?? "-")\t\(row.webhookId)"
                    )
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue deliveries again (a running gateway sends them within a second): one by --id, or the failed ones since --since.")
        @Option(help: "The gateway configuration (YAML).") var config: String
        @Option(help: "One delivery's id.") var id: Int64?
        @Option(help: "Failed deliveries created since this ISO 8601 time.") var since: String?
        @Option(help: "With --since: only this client's.") var client: String?

        func validate() throws {
            guard (id == nil) != (since == nil) else { throw ValidationError("give either --id N or --since TIME") }
            if let since, ISO8601DateFormatter().date(from: since) == nil {
                throw ValidationError("--since must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z")
            }
        }

        func run() async throws {
            try await withGateway(config: config) { gateway in
                if let id {
                    guard try await gateway.vault.retryDelivery(id) else {
                        printError("error: no delivery \(id)")
                        throw ExitCode(1)
                    }
                    print("queued delivery \(id) again")
                } else if let since, let date = ISO8601DateFormatter().date(from: since) {
                    print("queued \(try await gateway.vault.retryDeliveries(client: client, since: date)) failed deliveries again")
                }
            }
        }
    }
}
