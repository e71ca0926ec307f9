public import Logging
import ServiceLifecycle

/// The pause before trying again after `failures` consecutive failures of a database step:
/// `first`, doubling, at most 5 s. One curve for the runtime's claims and completions, the
/// listener's reconnects, worker loops and recording outcomes.
public enum Backoff {
    public static func delay(afterFailures failures: Int, first: Duration = .milliseconds(250)) -> Duration {
        min(.seconds(5), first * (1 << min(max(failures - 1, 0), 6)))
    }

    /// Runs `body` until it succeeds and returns its result, or nil once shutdown (graceful or
    /// cancellation) has begun. Each failure is logged as "`what` failed; trying again" and
    /// reported to `health`, then waited out on the `delay` curve; `wake` ends a wait early.
    /// `interruptible`: graceful shutdown cancels `body` itself (a warm-up), rather than letting
    /// a step under way finish.
    public static func retryingUntilShutdown<R: Sendable>(
        _ what: String, health: HealthState?, logger: Logger, wake: WakeSignal? = nil, interruptible: Bool = false,
        _ body: @escaping @Sendable () async throws -> R
    ) async -> R? {
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let result = interruptible ? try await cancelWhenGracefulShutdown(body) : try await body()
                if Task.isCancelled || Task.isShuttingDownGracefully { return nil }
                health?.databaseSucceeded()
                return result
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return nil }
                failures += 1
                health?.databaseFailed(error)
                logger.warning("\(what) failed; trying again", metadata: ["error": "\(DatabaseError(error))", "failures": "\(failures)"])
                let delay = delay(afterFailures: failures)
                if let wake {
                    _ = await cancelWhenGracefulShutdown { await wake.wait(timeout: delay) }
                } else {
                    _ = await cancelWhenGracefulShutdown { try? await Task.sleep(for: delay) }
                }
            }
        }
        return nil
    }
}
