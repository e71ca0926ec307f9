#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A child process started with posix_spawn and reaped with non-blocking waitpid, so waiting
/// never blocks a thread of the cooperative pool. (Foundation's Process left children unreaped
/// under the test runner here.) Used by tests, the benchmark and the demo to run real workers.
public final class ChildProcess: Sendable {
    public enum Termination: Equatable, Sendable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        public var description: String {
            switch self {
            case .exited(let code): return "exit \(code)"
            case .signalled(let signal): return "signal \(signal)"
            }
        }
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public let executable: String
        public let outputPath: String?
        public let errno: Int32
        public var description: String {
            "cannot start \(executable)\(outputPath.map { " with output to \($0)" } ?? ""): \(String(cString: strerror(errno)))"
        }
    }

    public let pid: Int32
    public let executable: String
    private let termination = Mutex<Termination?>(nil)

    /// Starts `executable` with `arguments` and exactly `environment`; stdout and stderr are
    /// appended to `outputPath` (or discarded), stdin is /dev/null.
    public init(executable: String, arguments: [String], environment: [String: String], outputPath: String?) throws {
        self.executable = executable
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        // Start the child with no blocked signals and default handlers: the spawning thread
        // may block SIGCHLD (and others), and a child that inherits that never reaps its own
        // children (seen with Python's asyncio subprocesses).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGCHLD, SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = argv.withUnsafeBufferPointer { args in
            envp.withUnsafeBufferPointer { env in
                posix_spawn(&pid, executable, &actions, &attributes, args.baseAddress!, env.baseAddress!)
            }
        }
        guard result == 0 else { throw SpawnError(executable: executable, outputPath: outputPath, errno: result) }
        self.pid = pid
    }

    public func signal(_ signal: Int32) {
        if termination.withLock({ $0 }) == nil { kill(pid, signal) }
    }

    /// The termination if the process has ended (reaps it), else nil.
    public func poll() -> Termination? {
        termination.withLock { known in
            if let known { return known }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            guard result == pid else { return nil }
            let signal = status & 0x7f
            known = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
            return known
        }
    }

    public var isRunning: Bool { poll() == nil }

    /// Waits for the end, checking every 20 ms; nil if still running after `timeout`.
    public func wait(timeout: Duration? = nil) async -> Termination? {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            if let done = poll() { return done }
            if let deadline, ContinuousClock.now >= deadline { return nil }
            do { try await Task.sleep(for: .milliseconds(20)) } catch { return poll() }
        }
    }

    /// A command that did not exit 0, with what it printed.
    public struct Failure: Error, CustomStringConvertible {
        public let command: String
        public let termination: Termination
        public let output: String
        public var description: String { "\(command) ended with \(termination): \(output.suffix(800))" }
    }

    /// Runs a command to completion (with this process's environment unless given) and returns
    /// what it printed (stdout and stderr); throws
    /// `Failure` unless it exits 0. Output goes through a file, not a pipe: a server the command
    /// starts inherits it and would hold a pipe open forever.
    public static func output(_ executable: String, _ arguments: [String],
                              environment: [String: String]? = nil) async throws -> String {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let child = try ChildProcess(executable: executable, arguments: arguments,
                                     environment: environment ?? ProcessInfo.processInfo.environment, outputPath: log)
        let termination = await child.wait() ?? .signalled(0)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard termination == .exited(0) else {
            throw Failure(command: ([executable] + arguments).joined(separator: " "), termination: termination, output: output)
        }
        return output
    }
}
