import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Shared

/// No-op job for throughput runs.
struct NoOpJob: JobPayload {
    static let kind = "bench.noop"
}

/// A job whose behaviour the test or benchmark chooses: sleep, record each run, fail a number
/// of times, or always fail.
struct ProbeJob: JobPayload {
    static let kind = "probe.run"
    /// Sleep this long in the handler (to be killed or drained mid-job).
    var sleepMilliseconds: Int?
    /// Insert a row into probe_runs for every execution (made visible outside the job's
    /// completion, so a second execution would show).
    var record: Bool?
    /// Fail the first N attempts.
    var failAttempts: Int?
    /// Fail every attempt.
    var poison: Bool?
}

/// `hotline-bench worker`: one worker process serving a queue with the probe handlers. Tests and
/// the benchmark start several of these; settings come from the same HOTLINE_* variables as the
/// real workers.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run a probe worker process (for tests and benchmarks).")

    @Option(help: "Queue to serve.")
    var queue: String = "bench"

    func run() async throws {
        let queue = self.queue
        await WorkerProcess.main({
            var worker = try Worker(name: "probe", queue: queue, concurrency: 16,
                                    retry: RetryPolicy(base: .milliseconds(50), cap: .seconds(2)))
            try worker.register(NoOpJob.self) { _, _ in }
            try worker.register(ProbeJob.self) { job, context in
                let started = Date()
                if let ms = job.sleepMilliseconds, ms > 0 {
                    try await Task.sleep(for: .milliseconds(ms))
                }
                if job.record == true {
                    // In BEGIN…COMMIT, so "done" means committed: a lone INSERT is reported done at
                    // CommandComplete and committed only at Sync, and a server crash between the two
                    // lost a run a restart test saw succeed.
                    try await context.client.transaction(logger: context.logger) { connection in
                        try await connection.execute("""
                            INSERT INTO probe_runs (job_id, owner, attempt, at) VALUES (\(context.job.id.rawValue), \(context.owner), \(context.job.attempt), \(started))
                            """, logger: context.logger)
                    }
                }
                if job.poison == true {
                    throw JobFailure.permanent("poison job: fails by design")
                }
                if let failures = job.failAttempts, context.job.attempt <= failures {
                    struct Flaky: Error, CustomStringConvertible { let attempt: Int; var description: String { "flaky failure on attempt \(attempt)" } }
                    throw Flaky(attempt: context.job.attempt)
                }
            }
            try worker.registerPing()
            return worker
        }, defaultHTTPPort: nil)
    }
}

@main
struct HotlineBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hotline-bench",
        abstract: "Queue benchmarks and the probe worker used by tests.",
        subcommands: [RunCommand.self, WorkerCommand.self, FaultsCommand.self, DemoCommand.self])
}
