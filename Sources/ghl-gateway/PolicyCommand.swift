import ArgumentParser
import GatewayPolicy
import GatewayProxy
import GatewayRuntime
import GatewayServer
import Logging
import ScopeCatalog

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Check client policies and explain decisions.", subcommands: [Check.self, Explain.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the catalog and every client policy; exit 1 with FILE:LINE errors (usable in CI).")
        @OptionGroup var options: StoreOptions

        func run() throws {
            let store = try options.open()
            let issues = store.status.rejectedIssues
            guard issues.isEmpty else {
                for issue in issues { printError(issue) }
                throw ExitCode(1)
            }
            for file in PolicyLoader.ignoredClientFiles(in: store.directory) {
                print("warning: \(file) is not loaded (only *.yaml and *.yml are)")
            }
            let snapshot = store.snapshot
            if snapshot.policies.clients.isEmpty { print("warning: no client policy: every call is denied") }
            print(
                "ok: \(snapshot.policies.clients.count) client(s), \(snapshot.catalog.routes.count) routes, \(snapshot.catalog.scopes.count) scopes")
        }
    }

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Show how the proxy would decide METHOD PATH for a client, an agent's tool call (--tool), or whether an event (--event) would be delivered to it, and why; exit 1 when not."
        )
        @Option(help: "The client name.") var client: String
        @Argument(help: "GET, POST, PUT, PATCH or DELETE.") var method: String?
        @Argument(help: "The request path, with its query if any.") var path: String?
        @Option(help: "A HighLevel event type (ContactCreate, INSTALL, ...) instead of a request.") var event: String?
        @Option(help: "An MCP tool (execute_operation with METHOD PATH, or a named tool with --arg) instead of a request.") var tool: String?
        @Option(name: .customLong("arg"), help: "A named tool's argument, NAME=VALUE (repeatable).") var arguments: [String] = []
        @Option(help: "The target location (as X-Location-Id, or the event's locationId).") var location: String?
        @Option(help: "The target company (as X-Company-Id, or the event's companyId).") var company: String?
        @OptionGroup var options: StoreOptions

        func validate() throws {
            if let tool {
                guard event == nil, tool != "execute_operation" || (method != nil && path != nil) else {
                    throw ValidationError("--tool execute_operation takes METHOD PATH; another tool takes its --arg NAME=VALUE")
                }
                guard arguments.allSatisfy({ $0.contains("=") }) else { throw ValidationError("--arg takes NAME=VALUE") }
                return
            }
            guard (event == nil) == (method != nil && path != nil) else {
                throw ValidationError("give either METHOD PATH, --event TYPE or --tool NAME")
            }
        }

        func run() throws {
            let store = try options.open()
            for issue in store.status.rejectedIssues { printError("warning: policies rejected: \(issue)") }
            let explanation =
                if let tool {
                    PolicyExplanation(
                        snapshot: store.snapshot, client: client, tool: tool,
                        arguments: Dictionary(
                            arguments.map { argument in
                                let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                                return (String(parts[0]), String(parts[1]))
                            }
                        ) { $1 }, method: method, path: path, location: location, company: company)
                } else if let event {
                    PolicyExplanation(snapshot: store.snapshot, client: client, event: event, location: location, company: company)
                } else {
                    PolicyExplanation(
                        snapshot: store.snapshot, client: client, method: method ?? "", path: path ?? "", location: location, company: company)
                }
            for line in explanation.lines { print(line) }
            if !explanation.allowed { throw ExitCode(1) }
        }
    }
}

/// Where the policies are and how their catalog compiles, as `serve` would load them.
struct StoreOptions: ParsableArguments {
    @Option(help: "The policies directory.") var policies = "policies"
    @Option(help: "HighLevel's OpenAPI specs (default: POLICIES/openapi).") var openapi: String?
    @Option(help: "Which catalog source wins where the table and the OpenAPI specs disagree: table or openapi.")
    var prefer: CatalogSource.Preference = .table
    @Option(
        help: "Take policies_dir, catalog.openapi_dir and catalog.prefer from this gateway configuration, as serve does (its secrets are not read).")
    var config: String?
    @Flag(help: "Check the webhook secrets' references (env:NAME, file:/path) for form only, not their values (CI without production secrets).")
    var noSecrets = false

    /// Loads the policies directory or exits 2 when its catalog cannot be compiled.
    func open() throws -> PolicyStore {
        var logger = Logger(label: "ghl-gateway")
        logger.logLevel = .critical
        var (directory, openAPIDirectory, prefer) = (policies, openapi, prefer)
        if let config {
            do {
                let paths = try PolicyPaths(configuration: config)
                (directory, openAPIDirectory) = (paths.policiesDir, paths.openAPIDirectory)
                prefer = paths.prefer ?? prefer
            } catch {
                printError("error: \(error)")
                throw ExitCode(2)
            }
        }
        do {
            return try PolicyStore(
                directory: directory, openAPIDirectory: openAPIDirectory, prefer: prefer, secrets: noSecrets ? .formOnly : .resolve,
                logger: logger)
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
    }
}

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Gateway keys for internal services.", subcommands: [New.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new random key (256 bits) once, and the line to paste into the client's policy file.")
        @Option(help: "The client the key is for.") var client: String

        func run() {
            let key = KeyDigest.generateKey()
            print("key for \(client) (shown once; give it to the service as its bearer token):")
            print(key)
            print("")
            print("paste into policies/clients/\(client).yaml, as its only key:")
            print("key: \(KeyDigest(key: key))")
            print("")
            print("or, to rotate without downtime, list it beside the old one (give the old one an expiry,")
            print("and remove it once /health/clients shows it no longer used):")
            print("keys:")
            print("  - key: sha256:...   # the current key")
            print("    expires: YYYY-MM-DD")
            print("  - \(KeyDigest(key: key))")
        }
    }
}
