import ArgumentParser
import Foundation
import GatewayRuntime
import Logging
import TokenVault

/// Fills a gateway's vault with installations and long-lived tokens, so a proxy benchmark (or a
/// memory measurement) needs no HighLevel: the upstream is a static server that ignores tokens.
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed", abstract: "Seed a gateway's vault with a company and N locations holding tokens.")

    @Option(help: "The gateway configuration whose vault to fill.") var config: String
    @Option(help: "Locations to create (benchLocation1 ... benchLocationN).") var locations = 1
    @Option(help: "Their company.") var company = "benchCompany"

    func run() async throws {
        let configuration = try GatewayConfiguration.load(path: config)
        let vault = try await configuration.storage.openVault(logger: Logger(label: "ghl-bench"))
        let scopes = ["contacts.readonly", "contacts.write", "oauth.write"]
        let expiry = Date().addingTimeInterval(30 * 86_400)
        func grant(_ id: String) -> TokenGrant {
            TokenGrant(
                accessToken: Secret("bench-access-\(id)"), refreshToken: Secret("bench-refresh-\(id)"), scopes: scopes, expiresAt: expiry,
                origin: .code)
        }
        var installs = [
            (
                Installation(owner: .company(company), companyId: company, grantedScopes: scopes, isBulk: true, source: .install),
                grant(company)
            )
        ]
        for index in 1...max(locations, 1) {
            let id = "benchLocation\(index)"
            installs.append((Installation(owner: .location(id), companyId: company, grantedScopes: scopes, source: .install), grant(id)))
        }
        for batch in stride(from: 0, to: installs.count, by: 1_000) {
            _ = try await vault.install(Array(installs[batch..<min(batch + 1_000, installs.count)]))
        }
        try await vault.close()
        print("seeded \(configuration.storage.database): company \(company) and \(max(locations, 1)) location(s)")
    }
}
