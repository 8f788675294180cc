import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A program run by a test: output captured as it comes, its exit and its output awaited by
/// events (no polling), without blocking a cooperative thread.
///
/// Spawned with `posix_spawn`, not Foundation's `Process`: on Linux, `Process.run()` reads
/// `/proc/self/fd` past its buffer and crashes the test process now and then
/// (swift-corelibs-foundation #5472, Swift 6.3.1), more often the more descriptors are open. The
/// child gets the output pipe and no other descriptor of the test process.
package final class ChildProcess: Sendable {
    private struct State {
        var output = Data()
        var status: Int32?
        var pid: pid_t = 0
        var outputWaiters: [(marker: String, count: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var exitWaiters: [CheckedContinuation<Int32, Never>] = []
    }

    private let executable: String
    private let arguments: [String]
    private let environment: [String: String]?
    private let state = Mutex(State())

    package init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }

    package struct SpawnError: Error, CustomStringConvertible {
        package var code: Int32
        package var description: String { "posix_spawn failed: \(String(cString: strerror(code)))" }
    }

    /// Spawns one at a time: between `pipe` and `FD_CLOEXEC` another child must not inherit the
    /// pipe (it would hold the write end open, and this child's end of output would never come).
    private static let spawning = Mutex(())

    /// Starts the program, its standard output and error into one pipe read on a dispatch thread.
    package func start() throws {
        let (pid, reader) = try Self.spawning.withLock { _ throws(SpawnError) in try spawn() }
        state.withLock { $0.pid = pid }
        DispatchQueue.global().async { [self] in
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = read(reader, &buffer, buffer.count)
                if count > 0 {
                    received(Data(buffer[0..<count]))
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            close(reader)
            finished(Self.wait(for: pid))
        }
    }

    /// Runs to completion on the calling thread, output discarded (for a test trait's condition,
    /// which is evaluated synchronously); -1 when it cannot start.
    package static func exitStatus(_ executable: String, _ arguments: [String]) -> Int32 {
        let child = ChildProcess(executable, arguments)
        guard let (pid, reader) = try? spawning.withLock({ _ throws(SpawnError) in try child.spawn() }) else { return -1 }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(reader, &buffer, buffer.count)
            guard count > 0 || (count < 0 && errno == EINTR) else { break }
        }
        close(reader)
        return wait(for: pid)
    }

    /// Reaps the child: killed by a signal, its negated number; else its exit status.
    private static func wait(for pid: pid_t) -> Int32 {
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0, errno == EINTR {}
        return raw & 0x7f != 0 ? -(raw & 0x7f) : (raw >> 8) & 0xff
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc
    /// module does not declare: looked up by name.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// The child's pid and the read end of its output pipe.
    private func spawn() throws(SpawnError) -> (pid_t, Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SpawnError(code: errno) }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        // Nothing else of this process's: NIO opens sockets without close-on-exec, and a child that
        // inherited one keeps that connection open after the test closed it (no FIN is sent).
        _ = Self.closeFrom?(&actions, 3)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        close(fds[1])
        guard result == 0 else {
            close(fds[0])
            throw SpawnError(code: result)
        }
        return (pid, fds[0])
    }

    private func finished(_ status: Int32) {
        let (exits, outputs) = state.withLock { state in
            state.status = status
            defer {
                state.exitWaiters = []
                state.outputWaiters = []
            }
            return (state.exitWaiters, state.outputWaiters)
        }
        let text = self.text
        for waiter in exits { waiter.resume(returning: status) }
        for waiter in outputs { waiter.continuation.resume(returning: Self.occurrences(of: waiter.marker, in: text) >= waiter.count) }
    }

    /// Everything written to standard output and standard error so far.
    package var text: String { state.withLock { String(decoding: $0.output, as: UTF8.self) } }

    /// The CPU time (user and system) the running process has used, from `/proc`; nil once it ended.
    package var cpuSeconds: Double? {
        let pid = state.withLock { $0.status == nil ? $0.pid : 0 }
        guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": state is field 3, utime field 14 and stime field 15, in clock ticks.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    package func signal(_ signal: Int32) {
        let pid = state.withLock { $0.status == nil ? $0.pid : 0 }
        if pid > 0 { kill(pid, signal) }
    }

    /// Waits for the exit; a death by signal gives the signal's negated number. A program still
    /// running after `timeout` is killed (the test then sees `-SIGKILL`).
    package func exit(timeout: Duration = .seconds(60)) async -> Int32 {
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            self.signal(SIGKILL)
        }
        defer { watchdog.cancel() }
        return await withCheckedContinuation { continuation in
            let status: Int32? = state.withLock { state in
                if state.status == nil { state.exitWaiters.append(continuation) }
                return state.status
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Waits until the output contains `marker` `count` times: false if the program exits first or
    /// `timeout` passes (the program is then killed, so nothing waits forever).
    package func output(contains marker: String, count: Int = 1, timeout: Duration = .seconds(30)) async -> Bool {
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            self.signal(SIGKILL)
        }
        defer { watchdog.cancel() }
        return await withCheckedContinuation { continuation in
            let answer: Bool? = state.withLock { state in
                let text = String(decoding: state.output, as: UTF8.self)
                if Self.occurrences(of: marker, in: text) >= count { return true }
                if state.status != nil { return false }
                state.outputWaiters.append((marker, count, continuation))
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    private static func occurrences(of marker: String, in text: String) -> Int {
        text.components(separatedBy: marker).count - 1
    }

    /// Runs to completion.
    package static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil
    ) async throws -> (status: Int32, text: String) {
        let child = ChildProcess(executable, arguments, environment: environment)
        try child.start()
        let status = await child.exit()
        return (status, child.text)
    }

    private func received(_ data: Data) {
        guard !data.isEmpty else { return }
        let ready = state.withLock { state in
            state.output.append(data)
            let text = String(decoding: state.output, as: UTF8.self)
            let ready = state.outputWaiters.filter { Self.occurrences(of: $0.marker, in: text) >= $0.count }
            state.outputWaiters.removeAll { Self.occurrences(of: $0.marker, in: text) >= $0.count }
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }
}
