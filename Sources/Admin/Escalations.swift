import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Shared

/// `hotline escalations`: what supervisors look at — unresolved escalations, deadlines already
/// missed, and the month's hard-ticket list for the city joint meeting.
struct Escalations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unresolved escalations, overdue deadlines, and a month's hard tickets.")
    @OptionGroup var connection: Connection
    @Option(help: "The hard-ticket list of this month (YYYY-MM); default: the current month.") var month: String?
    @Option(help: "Rows per list.") var limit = 20

    func validate() throws {
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1–10000") }
        if let month, month.wholeMatch(of: /20[0-9]{2}-(0[1-9]|1[0-2])/) == nil {
            throw ValidationError("--month must look like 2026-11")
        }
    }

    func run() async throws {
        let limit = self.limit
        let month = self.month.map { $0 + "-01" }
        try await connection.withClient { client, logger in
            let open = try await client.all("""
                SELECT ticket_no, trigger_name, level::int, state, array_to_string(notified_units, ','),
                       to_char(opened_at AT TIME ZONE (hotline.setting('time_zone') #>> '{}'), 'MM-DD HH24:MI')
                  FROM hotline.open_escalations ORDER BY opened_at DESC LIMIT \(limit)
                """, as: (String, String, Int, String, String, String).self, logger: logger)
            print(Table(["ticket", "trigger", "level", "state", "told", "opened"],
                        open.map { [$0.0, $0.1, "\($0.2)", $0.3, $0.4, $0.5] }).render())
            let overdue = try await client.all("""
                SELECT ticket_no, unit, kind, to_char(overdue_by, 'DD"d" HH24"h"MI"m"'), coalesce(next_action, '-')
                  FROM hotline.overdue_timers ORDER BY due_at LIMIT \(limit)
                """, as: (String, String, String, String, String).self, logger: logger)
            print()
            print(Table(["ticket", "unit", "deadline", "overdue by", "next"], overdue.map { [$0.0, $0.1, $0.2, $0.3, $0.4] }).render())
            let hard = try await client.all("""
                SELECT ticket_no, coalesce(district, '-'), coalesce(category, '-'), status, coalesce(leads_tried, '-'), content
                  FROM hotline.hard_ticket_list
                 WHERE month = coalesce(\(month)::date, date_trunc('month', now() AT TIME ZONE (hotline.setting('time_zone') #>> '{}'))::date)
                 ORDER BY listed_at LIMIT \(limit)
                """, as: (String, String, String, String, String, String).self, logger: logger)
            print()
            print(Table(["hard ticket", "district", "category", "status", "leads tried", "content"],
                        hard.map { [$0.0, $0.1, $0.2, $0.3, $0.4, $0.5] }).render())
        }
    }
}
