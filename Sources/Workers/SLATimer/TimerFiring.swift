import Logging
import Metrics
import PostgresNIO
import Shared

/// Fires due SLA timer points. Each step is one transaction of `hotline.fire_sla_timers`
/// (events, SMS, overdue marks, urging counts, escalation requests), which also says when the
/// next point is due; the loop sleeps until then, or until a NOTIFY says a sooner timer was
/// inserted, and never longer than `idleLook` — so an idle process asks once per `idleLook`.
struct TimerFiring: Sendable {
    /// Points fired per transaction; a full batch means more are due, so the next step follows at once.
    var batch: Int
    /// The longest sleep without a look. Keep it at or below the database's
    /// `sla.notify_horizon_seconds`, which decides which new timers send a wake-up.
    var idleLook: Duration
    /// After a step that found due points all held by another process: let that one finish.
    var contended: Duration = .milliseconds(50)

    private let fired = Counter(label: "hotline_sla_points_fired_total")
    private let steps = Counter(label: "hotline_sla_steps_total")

    init(batch: Int, idleLook: Duration) {
        self.batch = batch
        self.idleLook = idleLook
    }

    init(environment env: EnvironmentReader) throws {
        self.init(batch: try env.int("HOTLINE_SLA_BATCH", default: 200, in: 1...10_000),
                  idleLook: try env.seconds("HOTLINE_SLA_IDLE_SECONDS", default: 30, in: 0.05...60))
    }

    /// One firing transaction; returns how long to wait before the next.
    func step(_ client: PostgresClient, _ logger: Logger) async throws -> Duration {
        let row = try await client.first(
            "SELECT fired, extract(epoch FROM next_in)::float8 FROM hotline.fire_sla_timers(NULL, \(batch)::int)",
            as: (Int, Double?).self, logger: logger)
        steps.increment()
        let count = row?.0 ?? 0
        if count > 0 {
            fired.increment(by: count)
            logger.debug("timer points fired", metadata: ["fired": "\(count)"])
        }
        return wait(fired: count, nextIn: row?.1)
    }

    /// How long to sleep after a step that fired `fired` points, with the next point due in
    /// `nextIn` seconds (nil: no running timer has a point left).
    func wait(fired: Int, nextIn: Double?) -> Duration {
        if fired >= batch { return .zero }
        guard let nextIn else { return idleLook }
        if nextIn <= 0 { return fired > 0 ? .zero : contended }
        return min(.milliseconds(Int64((nextIn * 1000).rounded(.up))), idleLook)
    }
}
