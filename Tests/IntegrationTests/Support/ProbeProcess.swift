import Foundation
import Shared

/// A `hotline-bench worker` child process: a real worker process on a test database, which a
/// test can SIGTERM or SIGKILL.
final class ProbeProcess: Sendable {
    let child: ChildProcess
    let logPath: String

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

    static var executable: String {
        get throws {
            let path = productsDirectory.appendingPathComponent("hotline-bench").path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw TestSetupError(description: "hotline-bench is not built next to the tests; run `swift build --build-tests` (ops/test does)")
            }
            return path
        }
    }

    /// Starts a probe worker on `queue` of `database` with extra environment settings.
    init(database: DatabaseURL, queue: String, environment extra: [String: String] = [:]) throws {
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = database.urlString
        environment["HOTLINE_HTTP_PORT"] = "off"
        environment["HOTLINE_LOG_LEVEL"] = environment["TEST_WORKER_LOG_LEVEL"] ?? "warning"
        for (key, value) in extra { environment[key] = value }
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString).log").path
        child = try ChildProcess(executable: try Self.executable, arguments: ["worker", "--queue", queue],
                                 environment: environment, outputPath: logPath)
    }

    var isRunning: Bool { child.isRunning }
    func terminate() { child.signal(SIGTERM) }
    func killHard() { child.signal(SIGKILL) }

    /// Waits for the process to exit; nil if it is still running after `timeout`.
    func waitForExit(timeout: Duration = .seconds(60)) async -> ChildProcess.Termination? {
        await child.wait(timeout: timeout)
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Stops the process if a test left it running.
    func stop() async {
        if isRunning {
            killHard()
            _ = await waitForExit(timeout: .seconds(10))
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }
}
