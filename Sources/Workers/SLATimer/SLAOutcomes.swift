import Logging
import Metrics
import PostgresNIO
import Shared

/// Publishes the SLA breach rate's parts for Prometheus: once per `every`, the deadlines of the
/// last `window` by timer and outcome (`hotline.sla_outcomes`, sql/0021) as the gauge
/// `hotline_sla_deadlines{timer, outcome}` — in_time, late, overdue. Only the database knows when
/// a unit met a deadline (unit actions are SQL calls), so a counter in a worker could not say it.
/// Every sla-timer replica publishes the same numbers; the alert rule takes their max.
struct SLAOutcomes: Sendable {
    /// Between looks; nil: not published by this process (HOTLINE_SLA_OUTCOMES_SECONDS=off).
    var every: Duration?
    var window: Duration

    init(every: Duration?, window: Duration) {
        self.every = every
        self.window = window
    }

    /// HOTLINE_SLA_OUTCOMES_SECONDS (60; 5…3600, or off) and HOTLINE_SLA_OUTCOMES_WINDOW_SECONDS
    /// (3600; 60…86400: the alert's window).
    init(environment env: EnvironmentReader) throws {
        self.init(every: try env.secondsOrOff("HOTLINE_SLA_OUTCOMES_SECONDS", default: 60, in: 5...3600),
                  window: try env.seconds("HOTLINE_SLA_OUTCOMES_WINDOW_SECONDS", default: 3600, in: 60...86_400))
    }

    /// One deadline kind's outcomes in the window.
    struct Outcome: Sendable, Equatable {
        var timer: String
        var inTime: Int
        var late: Int
        var overdue: Int
    }

    func read(_ client: PostgresClient, _ logger: Logger) async throws -> [Outcome] {
        let seconds = Double(window.components.seconds)
        return try await client.all(
            "SELECT timer, in_time::int8, late::int8, overdue::int8 FROM hotline.sla_outcomes(make_interval(secs => \(seconds)))",
            as: (String, Int, Int, Int).self, logger: logger
        ).map { Outcome(timer: $0.0, inTime: $0.1, late: $0.2, overdue: $0.3) }
    }

    func step(_ client: PostgresClient, _ logger: Logger) async throws -> Duration {
        guard let every else { return .seconds(86_400) }
        for outcome in try await read(client, logger) {
            for (name, value) in [("in_time", outcome.inTime), ("late", outcome.late), ("overdue", outcome.overdue)] {
                Gauge(label: "hotline_sla_deadlines", dimensions: [("timer", outcome.timer), ("outcome", name)]).record(value)
            }
        }
        return every
    }
}
