import Crypto
import Foundation
import GatewayPolicy
import Logging
import ScopeCatalog
import ShippedCatalog
import Synchronization

/// The catalog and client policies in force, swapped whole on reload so that a request sees the
/// old set or the new one, never a mix. An invalid edit keeps the last valid set serving and is
/// kept here (with its first errors) for `/readyz`, logs and metrics.
package final class PolicyStore: Sendable {
    /// What one request evaluates against; a class, so a request or connection holding it costs
    /// one reference, not a copy of every table in it.
    package final class Snapshot: Sendable {
        package let catalog: CompiledCatalog
        package let policies: PolicySet
        package let fingerprint: String
        /// The fingerprint's first 12 hex digits, as the audit trail names the policy set in force.
        package let revision: String
        package let loadedAt: Date

        init(catalog: CompiledCatalog, policies: PolicySet, fingerprint: String, loadedAt: Date) {
            self.catalog = catalog
            self.policies = policies
            self.fingerprint = fingerprint
            revision = String(fingerprint.prefix(12))
            self.loadedAt = loadedAt
        }
    }

    /// The outcome of the last reload attempt.
    package struct Status: Sendable {
        package var lastAttemptAt: Date?
        package var lastSuccessAt: Date?
        /// Problems of the last rejected edit; empty once a valid set is loaded again.
        package var rejectedIssues: [String] = []
        package var reloads: [String: Int] = [:]
    }

    package let directory: String
    /// HighLevel's OpenAPI specs (`*.json`); `directory/openapi` unless configured elsewhere.
    package let openAPIDirectory: String
    /// Which catalog source wins where the table and the OpenAPI specs disagree.
    package let prefer: CatalogSource.Preference
    /// How the client policies' webhook secrets are checked (`policy check --no-secrets`: by form).
    let secrets: PolicyLoader.SecretCheck
    private let current: Mutex<Snapshot>
    /// Bumped under `current`'s lock with every swap, so a reader that holds a snapshot can tell
    /// whether it is still the one in force without taking the lock (`snapshot(refreshing:)`).
    private let version = Atomic<Int>(0)
    private let state: Mutex<Status>
    private let logger: Logger
    private let onReload: @Sendable (ReloadOutcome) -> Void

    /// Loads the directory. A broken catalog stops start-up; broken client policies start the gateway
    /// with no clients (every call is denied) and report the problems until they are fixed.
    package init(
        directory: String, openAPIDirectory: String? = nil, prefer: CatalogSource.Preference = .table,
        secrets: PolicyLoader.SecretCheck = .resolve, logger: Logger, onReload: @escaping @Sendable (ReloadOutcome) -> Void = { _ in }
    ) throws(PolicyStoreError) {
        self.directory = directory
        self.secrets = secrets
        self.openAPIDirectory = openAPIDirectory ?? (directory.hasSuffix("/") ? directory : directory + "/") + "openapi"
        self.prefer = prefer
        self.logger = logger
        self.onReload = onReload
        let files = Self.read(directory, openAPIDirectory: self.openAPIDirectory)
        let catalog = try Self.catalog(files, prefer: prefer)
        var status = Status()
        status.lastAttemptAt = Date()
        let policies: PolicySet
        do {
            policies = try Self.policies(files, catalog, secrets: secrets)
            status.lastSuccessAt = Date()
            status.reloads["initial"] = 1
        } catch {
            policies = PolicySet(clients: [])
            status.rejectedIssues = error.issues.map(\.description)
            logger.error(
                "client policies rejected at start-up; every call is denied until they are fixed",
                metadata: [
                    "errors": "\(error.issues.prefix(5).map(\.description))"
                ])
        }
        current = Mutex(Snapshot(catalog: catalog, policies: policies, fingerprint: files.fingerprint, loadedAt: Date()))
        state = Mutex(status)
    }

    package var snapshot: Snapshot { current.withLock { $0 } }

    /// A snapshot a connection keeps between its requests, with the version it was taken at.
    package struct Held: Sendable {
        package let version: Int
        package let snapshot: Snapshot
    }

    /// The snapshot in force: `held` when it still is (one atomic load, no lock, so event loops
    /// do not contend on the store per request), else the current one, which `held` becomes.
    package func snapshot(refreshing held: inout Held?) -> Snapshot {
        if let held, held.version == version.load(ordering: .acquiring) { return held.snapshot }
        let fresh = current.withLock { Held(version: version.load(ordering: .relaxed), snapshot: $0) }
        held = fresh
        return fresh.snapshot
    }

    /// Whether a validated client policy set is loaded (the last valid one keeps serving after a rejected edit).
    package var hasValidPolicies: Bool { status.lastSuccessAt != nil }
    package var status: Status { state.withLock { $0 } }

    package enum ReloadOutcome: String, Sendable {
        case unchanged, applied, rejected
    }

    /// Re-reads the directory. `onlyIf` lets a watcher apply a fingerprint only once it was seen
    /// stable (so a file caught half-written does not take effect).
    @discardableResult
    package func reload(onlyIf expected: String? = nil) -> ReloadOutcome {
        let files = Self.read(directory, openAPIDirectory: openAPIDirectory)
        if let expected, files.fingerprint != expected { return .unchanged }
        if files.fingerprint == snapshot.fingerprint { return .unchanged }
        let outcome: ReloadOutcome
        do {
            let catalog = try Self.catalog(files, prefer: prefer)
            let loaded = try Self.policies(files, catalog, secrets: secrets)
            let policies = PolicySet(clients: Array(loaded.clients.values), carryingUsageFrom: snapshot.policies)
            current.withLock {
                $0 = Snapshot(catalog: catalog, policies: policies, fingerprint: files.fingerprint, loadedAt: Date())
                version.add(1, ordering: .releasing)
            }
            state.withLock {
                $0.lastSuccessAt = Date()
                $0.rejectedIssues = []
            }
            logger.notice("policies reloaded", metadata: ["clients": "\(policies.clients.count)", "routes": "\(catalog.routes.count)"])
            outcome = .applied
        } catch {
            let issues = error.lines
            state.withLock { $0.rejectedIssues = issues }
            // Remember the rejected fingerprint so the same broken files are not re-read as news.
            current.withLock {
                $0 = Snapshot(catalog: $0.catalog, policies: $0.policies, fingerprint: files.fingerprint, loadedAt: $0.loadedAt)
                version.add(1, ordering: .releasing)
            }
            logger.error("policy edit rejected; the last valid set keeps serving", metadata: ["errors": "\(issues.prefix(5))"])
            outcome = .rejected
        }
        state.withLock {
            $0.lastAttemptAt = Date()
            $0.reloads[outcome.rawValue, default: 0] += 1
        }
        onReload(outcome)
        return outcome
    }

    /// The current fingerprint of the files on disk.
    package func fingerprintOnDisk() -> String { Self.read(directory, openAPIDirectory: openAPIDirectory).fingerprint }

    // MARK: Files

    struct Files {
        var table: (path: String, text: String?)
        var overrides: (path: String, text: String?)
        var openAPIDirectory: String
        var clients: [(path: String, text: String)]
        var clientError: PolicyIssue?
        var fingerprint: String
    }

    /// Reads the small files whole; the OpenAPI specs (megabytes, rarely edited) enter the
    /// fingerprint by name, size and modification time and are read only to compile. A directory
    /// without a scopes table (only client policies, as a Kubernetes ConfigMap delivers them) takes
    /// the catalog built into the binary, with `openAPIDirectory`'s specs if that exists.
    private static func read(_ directory: String, openAPIDirectory: String) -> Files {
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        var tablePath = base + "highlevel-scopes.md"
        var overridesPath = base + "catalog-overrides.yaml"
        var table = FileManager.default.contents(atPath: tablePath).flatMap { String(data: $0, encoding: .utf8) }
        var overrides = FileManager.default.contents(atPath: overridesPath).flatMap { String(data: $0, encoding: .utf8) }
        var openAPIDirectory = openAPIDirectory
        if !FileManager.default.fileExists(atPath: tablePath) {
            (tablePath, table) = (ShippedCatalog.tablePath, ShippedCatalog.table)
            (overridesPath, overrides) = (ShippedCatalog.overridesPath, ShippedCatalog.overrides)
            if !FileManager.default.fileExists(atPath: openAPIDirectory) { openAPIDirectory = ShippedCatalog.openAPIDirectory }
        }
        let specs = ((try? CatalogLoader.specPaths(in: openAPIDirectory)) ?? []).map { path in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
            return "\(path) \(size) \(modified)"
        }
        var clients: [(path: String, text: String)] = []
        var clientError: PolicyIssue?
        do { clients = try PolicyLoader.clientFiles(in: directory) } catch { clientError = error }
        var hasher = SHA256()
        for part in [tablePath, table ?? "<missing>", overridesPath, overrides ?? "<missing>"] + specs + clients.flatMap({ [$0.path, $0.text] }) {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: Data([0]))
        }
        let fingerprint = ASCIIHex.string(hasher.finalize())
        return Files(
            table: (tablePath, table), overrides: (overridesPath, overrides), openAPIDirectory: openAPIDirectory, clients: clients,
            clientError: clientError, fingerprint: fingerprint)
    }

    private static func policies(
        _ files: Files, _ catalog: CompiledCatalog, secrets: PolicyLoader.SecretCheck
    ) throws(PolicyRejection) -> PolicySet {
        if let error = files.clientError { throw PolicyRejection(issues: [error]) }
        return try PolicyLoader.parse(files.clients, catalog: catalog, secrets: secrets)
    }

    private static func catalog(_ files: Files, prefer: CatalogSource.Preference) throws(PolicyStoreError) -> CompiledCatalog {
        guard let table = files.table.text else { throw .unreadable(files.table.path) }
        do throws(CatalogLoader.LoadError) {
            let specs =
                files.openAPIDirectory == ShippedCatalog.openAPIDirectory
                ? CatalogLoader.builtInSpecs() : try CatalogLoader.specFiles(in: files.openAPIDirectory)
            let sources = CatalogLoader.Sources(
                table: (files.table.path, table), specs: specs,
                overrides: files.overrides.text.map { (files.overrides.path, $0) })
            return try CatalogLoader.compile(sources, prefer: prefer)
        } catch {
            throw .catalogInvalid(error)
        }
    }
}

/// Why policies could not be (re)loaded.
package enum PolicyStoreError: Error, CustomStringConvertible {
    case unreadable(String)
    case catalogInvalid(CatalogLoader.LoadError)

    package var description: String {
        switch self {
        case .unreadable(let path): "scope catalog: cannot read \(path)"
        case .catalogInvalid(let error): "scope catalog: \(error)"
        }
    }
}

extension Error {
    /// Problems of a rejected reload, one per line.
    fileprivate var lines: [String] {
        switch self {
        case let rejection as PolicyRejection: rejection.issues.map(\.description)
        case let error as PolicyStoreError:
            if case .catalogInvalid(.invalid(let failure)) = error { failure.errors.map(\.description) } else { ["\(error)"] }
        default: ["\(self)"]
        }
    }
}
