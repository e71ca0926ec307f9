import Logging
import Metrics
import PostgresNIO
import Shared
import Synchronization

/// The fleet's retention, run by the sla-timer (its scheduled-work process): about every
/// `every`, one `Retention` round — archive the events of long-ended tickets, prune operational
/// rows past their window. Replicas share it through the retention lock: whoever finds it taken
/// skips the round. The first round waits a random part of a few minutes after start, so a fleet
/// restarted at once does not start them all together.
struct RetentionLoop: Sendable {
    /// Between rounds; nil: retention is off in this process (HOTLINE_RETENTION_SECONDS=off).
    var every: Duration?
    var retention: Retention
    /// After a round cut short by its bound: the rest follows after this pause.
    var more: Duration = .seconds(1)
    /// The first round starts after a random pause up to this long.
    var firstWithin: Duration = .seconds(300)
    /// After a failed round.
    var retryAfter: Duration = .seconds(300)

    private let firstRound = FirstRound()
    private let rounds = Counter(label: "hotline_retention_rounds_total")
    private let skipped = Counter(label: "hotline_retention_rounds_skipped_total")
    private let failures = Counter(label: "hotline_retention_failures_total")
    private let archivedTickets = Counter(label: "hotline_retention_archived_tickets_total")
    private let archivedEvents = Counter(label: "hotline_retention_archived_events_total")

    init(every: Duration?, retention: Retention) {
        self.every = every
        self.retention = retention
    }

    /// HOTLINE_RETENTION_SECONDS (3600; 60…604800, or off) and HOTLINE_RETENTION_BATCH (events
    /// per archive transaction, 5000; 100…100000; pruning removes twice as many rows of a kind per
    /// transaction).
    init(environment env: EnvironmentReader) throws {
        let every = try env.secondsOrOff("HOTLINE_RETENTION_SECONDS", default: 3600, in: 60...604_800)
        let batch = try env.int("HOTLINE_RETENTION_BATCH", default: 5000, in: 100...100_000)
        self.init(every: every, retention: Retention(archiveBatch: batch, pruneBatch: batch * 2))
    }

    /// One round (the first call only schedules the first round); returns how long to wait. A
    /// failed round is logged and tried again after `retryAfter` (not at the loop's quick
    /// backoff: a round is heavy, and a lock timeout or a refused batch will not clear in seconds).
    func step(_ client: PostgresClient, _ logger: Logger) async throws -> Duration {
        guard let every else { return .seconds(86_400) }
        if firstRound.begin() {
            return .milliseconds(Int64.random(in: 1_000...max(1_000, Int64(firstWithin.seconds * 1000))))
        }
        let report: Retention.Report
        do {
            report = try await retention.round(client: client, logger: logger)
        } catch {
            if Task.isCancelled { throw error }
            failures.increment()
            logger.warning("retention round failed; trying again later",
                           metadata: ["error": "\(DatabaseError(error))", "retry_in_seconds": "\(min(every, retryAfter).seconds)"])
            return min(every, retryAfter)
        }
        return record(report, logger: logger) ? every : more
    }

    /// Counts and logs a round; true when it finished (or another process has the work).
    func record(_ report: Retention.Report, logger: Logger) -> Bool {
        guard report.lockAvailable else {
            skipped.increment()
            logger.debug("retention round skipped: another process holds the retention lock")
            return true
        }
        rounds.increment()
        archivedTickets.increment(by: report.archivedTickets)
        archivedEvents.increment(by: report.archivedEvents)
        for (what, count) in report.pruned where count > 0 {
            Counter(label: "hotline_retention_pruned_total", dimensions: [("what", what)]).increment(by: count)
        }
        if report.archivedEvents > 0 || report.prunedTotal > 0 || !report.complete {
            logger.info("retention round", metadata: [
                "archived_tickets": "\(report.archivedTickets)", "archived_events": "\(report.archivedEvents)",
                "pruned": "\(report.pruned.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))",
                "transactions": "\(report.transactions)", "complete": "\(report.complete)",
            ])
        }
        return report.complete
    }
}

/// Whether the loop has scheduled its first round yet (the loop's only state).
private final class FirstRound: Sendable {
    private let started = Atomic<Bool>(false)

    /// True exactly once: on the first call.
    func begin() -> Bool { !started.exchange(true, ordering: .relaxed) }
}
