import Foundation
import Shared
import Synchronization

/// A `hotline-bench worker` child process: a real worker process on a test database, which a
/// test can SIGTERM or SIGKILL.
final class ProbeProcess: Sendable {
    let process: Process
    let logURL: URL
    private let exitBox = ExitBox()
    private var exited: WakeSignal { exitBox.signal }

    /// The built products folder (beside the test bundle).
    static var productsDirectory: URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // The test runner lives in .build/<triple>/debug/ (or inside an .xctest folder there).
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("hotline-bench").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }

    static var executable: URL {
        get throws {
            let url = productsDirectory.appendingPathComponent("hotline-bench")
            guard FileManager.default.isExecutableFile(atPath: url.path) else {
                throw TestSetupError(description: "hotline-bench is not built next to the tests; run `swift build --build-tests` (ops/test does)")
            }
            return url
        }
    }

    /// Starts a probe worker on `queue` of `database` with extra environment settings.
    init(database: DatabaseURL, queue: String, environment extra: [String: String] = [:],
         arguments: [String]? = nil) throws {
        let process = Process()
        process.executableURL = try Self.executable
        process.arguments = arguments ?? ["worker", "--queue", queue]
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = database.urlString
        environment["HOTLINE_HTTP_PORT"] = "off"
        environment["HOTLINE_LOG_LEVEL"] = environment["TEST_WORKER_LOG_LEVEL"] ?? "warning"
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        self.process = process
        self.logURL = log
        process.terminationHandler = { [exitBox] process in
            exitBox.code.withLock { $0 = process.terminationStatus }
            exitBox.signal.signal()
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { exitBox.code.withLock { $0 == nil } }

    func terminate() { kill(pid, SIGTERM) }
    func killHard() { kill(pid, SIGKILL) }

    /// Waits for the process to exit; nil if it is still running after `timeout`.
    func waitForExit(timeout: Duration = .seconds(60)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let code = exitBox.code.withLock({ $0 }) { return code }
            await exited.wait(timeout: .milliseconds(200))
        }
        return exitBox.code.withLock { $0 }
    }

    var output: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Stops the process if a test left it running.
    func stop() async {
        if isRunning {
            killHard()
            _ = await waitForExit(timeout: .seconds(10))
        }
        try? FileManager.default.removeItem(at: logURL)
    }
}

private final class ExitBox: Sendable {
    let code = Mutex<Int32?>(nil)
    let signal = WakeSignal()
}
