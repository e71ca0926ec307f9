public import Logging
public import PostgresNIO
public import Shared

/// Waiting for started worker processes to be ready: a worker's runtime signs in to
/// `queue.workers` (its pid in the row) once its warm-up is done, so a row means it claims.
public enum SignIn {
    /// Waits until every one of `processes` has signed in. nil: all have; otherwise why not
    /// (one ended first, or `timeout` passed). Matches by pid, so rows left by earlier
    /// processes do not count.
    public static func wait(for processes: [(name: String, process: ChildProcess)], client: PostgresClient,
                            logger: Logger, timeout: Duration) async -> String? {
        let pids = processes.map { Int($0.process.pid) }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if Task.isCancelled { return "interrupted" }
            for (name, process) in processes {
                if let end = process.poll() { return "\(name) ended before it was ready (\(end))" }
            }
            let signedIn = (try? await client.first("SELECT count(*)::int FROM queue.workers WHERE pid = ANY(\(pids)::int[])",
                                                    as: Int.self, logger: logger)) ?? 0
            if signedIn >= processes.count { return nil }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return "not every worker was ready within \(timeout)"
    }
}
