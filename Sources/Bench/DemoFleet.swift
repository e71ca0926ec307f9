import FaultSuite
import Foundation
import Logging
import PostgresNIO
import Shared
import Synchronization

/// The six workers of the demo as real processes (the built executables), one each, with their
/// output in the demo's log folder. Stopping sends SIGTERM and waits for every process: each
/// finishes or releases its jobs and exits 0; one that does not stop in time is killed and
/// reported, so nothing is ever left running.
final class DemoFleet: Sendable {
    static let workers = ["intake-extraction", "auto-dispatch", "sla-timer", "escalation", "sms-notify", "satisfaction-callback"]

    struct Exit: Sendable {
        let worker: String
        let pid: Int32
        /// nil: it did not stop within the grace period and was killed.
        let termination: ChildProcess.Termination?
    }

    private let processes: [(worker: String, child: ChildProcess)]
    private let stopped = Mutex(false)

    /// Starts every worker. `environment` is passed as is (DATABASE_URL and the HOTLINE_* settings).
    init(binDirectory: URL, logDirectory: URL, environment: [String: String]) throws {
        var started: [(String, ChildProcess)] = []
        do {
            for worker in Self.workers {
                let executable = binDirectory.appendingPathComponent(worker).path
                guard FileManager.default.isExecutableFile(atPath: executable) else {
                    throw DemoError("\(executable) is not built (swift build builds every worker)")
                }
                let log = logDirectory.appendingPathComponent("\(worker).log").path
                started.append((worker, try ChildProcess(executable: executable, arguments: [], environment: environment, outputPath: log)))
            }
        } catch {
            // Never leave half a fleet behind.
            for (_, child) in started { child.signal(SIGKILL); _ = child.poll() }
            throw error
        }
        processes = started
    }

    var pids: [(worker: String, pid: Int32)] { processes.map { ($0.worker, $0.child.pid) } }

    /// The first worker that ended by itself (before `stop`), if any.
    func firstExited() -> (worker: String, termination: ChildProcess.Termination)? {
        guard !stopped.withLock({ $0 }) else { return nil }
        for (worker, child) in processes {
            if let end = child.poll() { return (worker, end) }
        }
        return nil
    }

    /// Waits until every worker has signed in (intake-extraction trains its classifiers first:
    /// seconds in a debug build, more on a busy machine). nil: all ready; otherwise why not.
    func waitUntilReady(client: PostgresClient, logger: Logger, timeout: Duration) async -> String? {
        await SignIn.wait(for: processes.map { ($0.worker, $0.child) }, client: client, logger: logger, timeout: timeout)
    }

    /// SIGTERM to all (a Ctrl-C in the terminal has already sent them SIGINT, which they treat
    /// the same), then waits up to `grace` for each; SIGKILL for any still running after it.
    func stop(grace: Duration) async -> [Exit] {
        stopped.withLock { $0 = true }
        for (_, child) in processes { child.signal(SIGTERM) }
        let deadline = ContinuousClock.now + grace
        var exits: [Exit] = []
        for (worker, child) in processes {
            let left = deadline - .now
            var end = await child.wait(timeout: max(left, .milliseconds(10)))
            if end == nil {
                child.signal(SIGKILL)
                _ = await child.wait(timeout: .seconds(10))
                end = nil
            }
            exits.append(Exit(worker: worker, pid: child.pid, termination: end))
        }
        return exits
    }
}

struct DemoError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
