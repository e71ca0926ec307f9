/// The pause before trying again after `failures` consecutive failures of a database step:
/// `first`, doubling, at most 5 s. One curve for the runtime's claims and completions, the
/// listener's reconnects, worker loops and recording outcomes.
public enum Backoff {
    public static func delay(afterFailures failures: Int, first: Duration = .milliseconds(250)) -> Duration {
        min(.seconds(5), first * (1 << min(max(failures - 1, 0), 6)))
    }
}
