import Foundation
import GatewaySandbox
import Logging
import PostgresNIO
import TokenVault

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL server for the tests: initdb into a temporary directory (as the `postgres`
/// user when the tests run as root, as PostgreSQL refuses root), started on a free loopback port
/// the first time a test asks, shared by the test process; each test gets its own database.
///
/// The server runs under a small watchdog shell that stops it and deletes its directory as soon
/// as the test process is gone, however it ended (passed, failed, crashed), so nothing outlives
/// `swift test`. A machine without the server binaries fails the test that asked, saying what to
/// install; it is never skipped.
package actor PostgresServer {
    /// The server most tests share.
    package static let shared = PostgresServer()

    /// A server of the test's own (to stop it: a database outage), serving TLS with `tls` when given;
    /// `firstPort` is tried before a free one is chosen (to test a port taken meanwhile).
    package init(tls: TestCertificate? = nil, firstPort: Int? = nil) {
        self.tls = tls
        self.firstPort = firstPort
    }

    private let tls: TestCertificate?
    private let firstPort: Int?

    /// Why the server could not be had.
    package struct Unavailable: Error, CustomStringConvertible {
        package var description: String

        /// The server could not listen: its port was taken between being chosen and bound.
        var portTaken: Bool { description.contains("could not create any TCP/IP sockets") }
    }

    /// A started server: its port, its data directory, the watchdog that runs it.
    private struct Running: Sendable {
        var port: Int
        var directory: String
        var watchdog: ChildProcess
    }

    private var started: Task<Running, any Error>?
    private var databases = 0

    /// A new, empty database on the server; its URL (user `postgres`, no password, no TLS).
    package func database() async throws -> PostgresURL {
        let port = try await port()
        databases += 1
        let name = "test_\(getpid())_\(databases)"
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: "127.0.0.1", port: port, username: "postgres", password: nil, database: "postgres", tls: .disable),
            id: databases, logger: Logger(label: "test-postgres"))
        do {
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Logger(label: "test-postgres"))
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        return try PostgresURL("postgres://postgres@127.0.0.1:\(port)/\(name)?sslmode=disable")
    }

    private func port() async throws -> Int {
        if let started { return try await started.value.port }
        let task = Task { [tls, firstPort] in try await Self.start(tls: tls, firstPort: firstPort) }
        started = task
        return try await task.value.port
    }

    /// Stops the server at once (fast shutdown: sessions are cut) and waits until it is gone.
    package func stop() async throws {
        guard let running = try await started?.value else { return }
        let pidFile = try String(contentsOfFile: running.directory + "/data/postmaster.pid", encoding: .utf8)
        guard let pid = pidFile.split(separator: "\n").first.flatMap({ pid_t($0) }) else { throw Unavailable(description: "no postmaster.pid") }
        kill(pid, SIGINT)
        _ = await running.watchdog.exit()
    }

    /// Starts a server, on another port when the one chosen was taken before the server bound it
    /// (a free port is only free until someone binds it: the tests' own outgoing connections take
    /// ports from the same range). Three attempts.
    private static func start(tls: TestCertificate?, firstPort: Int?) async throws -> Running {
        var attempt = 1
        while true {
            do {
                return try await startOnce(tls: tls, port: attempt == 1 ? firstPort : nil)
            } catch let error as Unavailable where error.portTaken && attempt < 3 {
                attempt += 1
            }
        }
    }

    private static func startOnce(tls: TestCertificate?, port chosen: Int?) async throws -> Running {
        guard let bin = binaries() else {
            throw Unavailable(
                description: """
                    the PostgreSQL server (initdb, postgres) is not installed: `apt-get install -y postgresql` \
                    (.ci/run does this); the PostgreSQL tests need it
                    """)
        }
        // In memory where the machine has it: the server's writes then never slow the fsyncs of the
        // SQLite tests running beside it.
        let memory = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
        let directory = memory + "ghl-postgres-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        if asRoot, let user = getpwnam("postgres") {
            chown(directory, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        let run = asRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--"] : []
        let command = run + [bin + "/initdb", "-D", directory + "/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]
        let initdb = try await ChildProcess.run(command[0], Array(command.dropFirst()))
        guard initdb.status == 0 else { throw Unavailable(description: "initdb failed (\(initdb.status)): \(initdb.text.suffix(500))") }
        var options = "-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
        if let tls {
            for (name, pem) in [("server.crt", tls.certificatePEM), ("server.key", tls.keyPEM)] {
                let path = directory + "/" + name
                try Data(pem.utf8).write(to: URL(fileURLWithPath: path))
                chmod(path, 0o600)
                if asRoot, let user = getpwnam("postgres") { chown(path, user.pointee.pw_uid, user.pointee.pw_gid) }
            }
            options += " -c ssl=on -c ssl_cert_file='\(directory)/server.crt' -c ssl_key_file='\(directory)/server.key'"
        }
        let port = try chosen ?? Sandbox.freePort()
        // The watchdog runs as the server's user, so the server is its own child and gets its signal.
        let script = """
            '\(bin)/postgres' -D '\(directory)/data' -p \(port) -k '\(directory)' \(options) &
            pg=$!
            while [ -d /proc/\(getpid()) ] && kill -0 $pg 2>/dev/null; do sleep 1; done
            kill -INT $pg 2>/dev/null
            wait $pg
            rm -rf '\(directory)'
            """
        let shell = run + ["/bin/sh", "-c", script]
        let watchdog = ChildProcess(shell[0], Array(shell.dropFirst()))
        try watchdog.start()
        guard await watchdog.output(contains: "database system is ready to accept connections", timeout: .seconds(60)) else {
            throw Unavailable(description: "PostgreSQL did not start: \(watchdog.text.suffix(1000))")
        }
        return Running(port: port, directory: directory, watchdog: watchdog)
    }

    /// The directory of `initdb` and `postgres`: Debian's newest version, else the PATH's.
    private static func binaries() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/postgres") {
            return "\(root)/\(version)/bin"
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(directory)/postgres")
            && FileManager.default.isExecutableFile(atPath: "\(directory)/initdb")
        {
            return String(directory)
        }
        return nil
    }
}
