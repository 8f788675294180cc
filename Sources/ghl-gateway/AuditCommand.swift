import ArgumentParser
import Foundation
import TokenVault

/// `ghl-gateway audit verify|export`: the audit trail kept in the vault.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The audit trail: check its chain, or export it.", subcommands: [Verify.self, Export.self])

    /// Every entry matching `query`, page by page, oldest first.
    static func entries(_ vault: any TokenVault, _ query: AuditQuery, _ body: (AuditEntry) throws -> Void) async throws {
        var query = query
        query.limit = 1_000
        while true {
            let page = try await vault.auditEntries(query)
            for entry in page { try body(entry) }
            guard let last = page.last, page.count == query.limit else { return }
            query.afterId = last.id
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that every entry's hash matches its contents and follows the entry before it; exit 1 at the first that does not.")
        @Option(help: "The gateway configuration (YAML).") var config: String

        func run() async throws {
            try await withGateway(config: config) { gateway in
                var chain = AuditChain()
                var first: AuditEntry?
                do {
                    try await AuditCommand.entries(gateway.vault, AuditQuery()) { entry in
                        if first == nil { first = entry }
                        try chain.check(entry)
                    }
                } catch let failure as AuditChain.Break {
                    printError("broken: \(failure)")
                    throw ExitCode(1)
                }
                guard let first else {
                    print("ok: the audit trail is empty")
                    return
                }
                let start = first.previousHash == AuditEntry.genesis ? "from the start" : "from entry \(first.id) (older ones pruned)"
                print("ok: \(chain.checked) entries, one chain \(start); last hash \(chain.lastHash ?? "")")
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the entries as NDJSON, oldest first, with their hashes.")
        @Option(help: "The gateway configuration (YAML).") var config: String
        @Option(help: "Only entries since this ISO 8601 time.") var since: String?

        func validate() throws {
            if let since, ISO8601DateFormatter().date(from: since) == nil {
                throw ValidationError("--since must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z")
            }
        }

        func run() async throws {
            var query = AuditQuery()
            query.since = since.flatMap { ISO8601DateFormatter().date(from: $0) }
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try await withGateway(config: config) { gateway in
                try await AuditCommand.entries(gateway.vault, query) { entry in
                    print(String(decoding: try encoder.encode(entry), as: UTF8.self))
                }
            }
        }
    }
}
