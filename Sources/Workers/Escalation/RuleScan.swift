import Logging
import Metrics
import PostgresNIO
import Shared

/// The periodic rule scan (`hotline.scan_escalations`): closes supervisions at their due date,
/// lists hard tickets for the monthly joint meeting, and requests the escalations that events
/// missed or that only time reveals (long unresolved, severely overdue). Several escalation
/// processes may scan at once; the database keeps each finding single.
struct RuleScan: Sendable {
    var every: Duration
    /// Findings per trigger per scan; a full one means more are waiting, so the next scan follows at once.
    var limit: Int

    init(every: Duration, limit: Int) {
        self.every = every
        self.limit = limit
    }

    init(environment env: EnvironmentReader) throws {
        self.init(every: try env.seconds("HOTLINE_ESCALATION_SCAN_SECONDS", default: 60, in: 0.05...86_400),
                  limit: try env.int("HOTLINE_ESCALATION_SCAN_LIMIT", default: 1000, in: 1...100_000))
    }

    func step(_ client: PostgresClient, _ logger: Logger) async throws -> Duration {
        let findings = try await client.all("SELECT finding, count FROM hotline.scan_escalations(NULL, \(limit)::int)",
                                            as: (String, Int).self, logger: logger)
        for (finding, count) in findings where count > 0 {
            Counter(label: "hotline_escalation_scan_findings_total", dimensions: [("finding", finding)]).increment(by: count)
            logger.info("rule scan", metadata: ["finding": "\(finding)", "count": "\(count)"])
        }
        return findings.contains { $0.1 >= limit } ? .zero : every
    }
}
