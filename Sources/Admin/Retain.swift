import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Shared

/// `hotline retain`: a retention round by hand, as the sla-timer runs it about hourly — archive
/// the events of long-ended tickets, prune operational rows past their window — plus finished
/// jobs past their retention. `--dry-run` counts what it would do and changes nothing.
struct Retain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Archive long-ended tickets' events and prune old operational rows and finished jobs (--dry-run: only count).")
    @OptionGroup var connection: Connection
    @Flag(help: "Count what a round would archive and remove; change nothing.") var dryRun = false
    @Option(help: "With --dry-run: count as of this moment (ISO 8601, e.g. 2027-03-01T00:00:00+08:00) instead of now.")
    var asOf: String?
    @Option(help: "Finished jobs older than this many hours are removed too (the workers' HOTLINE_FINISHED_RETENTION_HOURS).")
    var finishedHours = 168
    @Option(help: "Events per archive transaction (rows per prune transaction: twice as many).") var batch = 5000

    /// The exit code when another process is running retention right now.
    static let busyExitCode: Int32 = 75

    func validate() throws {
        guard (0...87_600).contains(finishedHours) else { throw ValidationError("--finished-hours must be 0–87600") }
        guard (100...100_000).contains(batch) else { throw ValidationError("--batch must be 100–100000") }
        if asOf != nil {
            guard dryRun else { throw ValidationError("--as-of needs --dry-run (a real round runs as of now)") }
            guard moment != nil else { throw ValidationError("--as-of must be an ISO 8601 moment with its offset, e.g. 2027-03-01T00:00:00+08:00") }
        }
    }

    private var moment: Date? {
        asOf.flatMap { text in
            let parser = ISO8601DateFormatter()
            parser.formatOptions = text.contains(".") ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
            return parser.date(from: text)
        }
    }

    func run() async throws {
        let dryRun = self.dryRun, moment = self.moment, batch = self.batch
        let finishedRetention: Duration = .seconds(finishedHours * 3600)
        let busy = try await connection.withClient { client, logger -> Bool in
            let finishedQuery: PostgresQuery = """
                SELECT count(*)::int FROM queue.finished_jobs
                 WHERE finished_at < coalesce(\(moment), now()) - make_interval(secs => \(finishedRetention.seconds))
                """
            if dryRun {
                let rows = try await Retention.preview(client: client, logger: logger, now: moment)
                let finished = try await client.first(finishedQuery, as: Int.self, logger: logger) ?? 0
                print("retention as of \(moment.map { ISO8601DateFormatter().string(from: $0) } ?? "now") (dry run: nothing changed)")
                print(Table(["what", "would be archived or removed"],
                            (rows + [(what: "queue.finished_jobs", count: finished)]).map { [Self.label($0.what), "\($0.count)"] }).render())
                return false
            }
            let report = try await Retention(archiveBatch: batch, pruneBatch: batch * 2).round(client: client, logger: logger)
            guard report.lockAvailable else { return true }
            let finished = try await JobQueue(client: client, logger: logger)
                .pruneFinished(olderThan: finishedRetention, batch: 10_000, maxBatches: 100_000)
            let kinds = ["sms_outbox", "sms_inbound", "sms_receipts", "sms_citizen_day", "queue.workers"]
            print(Table(["what", "archived or removed"],
                        [[Self.label("archive.tickets"), "\(report.archivedTickets)"], [Self.label("archive.events"), "\(report.archivedEvents)"]]
                            + kinds.map { [Self.label($0), "\(report.pruned[$0] ?? 0)"] }
                            + [[Self.label("queue.finished_jobs"), "\(finished.removed)"]]).render())
            print("\(report.transactions + finished.batches) transactions; \(report.complete && finished.complete ? "nothing more is due" : "more is due: run it again")")
            return false
        }
        if busy {
            print("another process is running retention right now (the retention lock is taken); try again later")
            throw ExitCode(Self.busyExitCode)
        }
    }

    /// What a row means, for people.
    static func label(_ what: String) -> String {
        switch what {
        case "archive.tickets": "ended tickets archived"
        case "archive.events": "their events moved to the archive"
        case "sms_outbox": "SMS sent or given up (sms_outbox)"
        case "sms_inbound": "inbound SMS read or unmatched (sms_inbound)"
        case "sms_receipts": "delivery receipts (sms_receipts)"
        case "sms_citizen_day": "past days' per-citizen SMS counts"
        case "queue.workers": "workers long gone (queue.workers)"
        case "queue.finished_jobs": "finished jobs (queue.finished_jobs)"
        default: what
        }
    }
}
