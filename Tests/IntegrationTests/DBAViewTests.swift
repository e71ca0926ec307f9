import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

/// The DBA and evaluation views on a seeded history whose figures are worked out by hand below.
@Suite("DBA views")
struct DBAViewTests {
    /// A ticket from `channel` received at `at` (local time, Asia/Shanghai).
    static func ticket(_ client: PostgresClient, _ externalID: String, channel: String = "web", at: String) async throws -> Int64 {
        let id = try await TicketIntakeTests.submit(client, channel: channel, externalID: externalID, content: "路灯不亮，晚上出行不便", phone: nil).id
        try await client.execute("UPDATE hotline.tickets SET received_at = (\(at) || '+08')::timestamptz WHERE id = \(id)", logger: TestDatabase.logger)
        return id
    }

    /// An assignment dispatched at `at` (local); accepted `acceptedAfter` later, or never.
    static func assign(_ client: PostgresClient, _ ticket: Int64, unit: String, at: String, acceptedAfter: String?) async throws {
        try await client.execute("""
            INSERT INTO hotline.assignments (ticket_id, round, unit_id, role, status, dispatched_at, accept_due_at, accepted_at)
            SELECT \(ticket), 1, u.id, 'lead', CASE WHEN \(acceptedAfter)::interval IS NULL THEN 'pending' ELSE 'accepted' END,
                   (\(at) || '+08')::timestamptz, (\(at) || '+08')::timestamptz + interval '1 hour',
                   (\(at) || '+08')::timestamptz + \(acceptedAfter)::interval
              FROM hotline.handling_units u WHERE u.code = \(unit)
            """, logger: TestDatabase.logger)
    }

    /// An answered callback for the ticket's lead `unit`, sent at `at` (local).
    static func answer(_ client: PostgresClient, _ ticket: Int64, unit: String, at: String, resolved: Bool, satisfaction: String) async throws {
        try await client.execute("""
            INSERT INTO hotline.callback_surveys (ticket_id, round, lead_unit_id, phone, status, sent_at, answered_at, resolved, satisfaction, answered_by)
            SELECT \(ticket), 1, u.id, '13900000000', 'answered', (\(at) || '+08')::timestamptz, (\(at) || '+08')::timestamptz + interval '1 hour',
                   \(resolved), \(satisfaction), 'test'
              FROM hotline.handling_units u WHERE u.code = \(unit)
            """, logger: TestDatabase.logger)
    }

    @Test func unitsAreEvaluatedAndRankedPerMonthQuarterHalfYearAndYear() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                // XA-CGJ: Jan accepted in time, Feb accepted 2 h late, Apr in time.
                // XA-ZJJ: Jan in time, Mar never accepted.
                let t1 = try await Self.ticket(client, "e1", at: "2026-01-10 09:00")
                let t2 = try await Self.ticket(client, "e2", at: "2026-02-05 09:00")
                let t3 = try await Self.ticket(client, "e3", at: "2026-04-01 09:00")
                let t4 = try await Self.ticket(client, "e4", at: "2026-01-20 09:00")
                let t5 = try await Self.ticket(client, "e5", at: "2026-03-15 09:00")
                try await Self.assign(client, t1, unit: "XA-CGJ", at: "2026-01-10 09:05", acceptedAfter: "20 minutes")
                try await Self.assign(client, t2, unit: "XA-CGJ", at: "2026-02-05 09:05", acceptedAfter: "2 hours")
                try await Self.assign(client, t3, unit: "XA-CGJ", at: "2026-04-01 09:05", acceptedAfter: "59 minutes")
                try await Self.assign(client, t4, unit: "XA-ZJJ", at: "2026-01-20 09:05", acceptedAfter: "5 minutes")
                try await Self.assign(client, t5, unit: "XA-ZJJ", at: "2026-03-15 09:05", acceptedAfter: nil)
                // Callbacks: XA-CGJ satisfied (Jan) and unsatisfied and unsolved (Feb); XA-ZJJ basically satisfied (Jan).
                try await Self.answer(client, t1, unit: "XA-CGJ", at: "2026-01-15 10:00", resolved: true, satisfaction: "satisfied")
                try await Self.answer(client, t2, unit: "XA-CGJ", at: "2026-02-10 10:00", resolved: false, satisfaction: "unsatisfied")
                try await Self.answer(client, t4, unit: "XA-ZJJ", at: "2026-01-25 10:00", resolved: true, satisfaction: "basically_satisfied")

                let rows = try await client.all("""
                    SELECT unit || ' ' || period || ' ' || starts || ': ' || dispatched || ' ' || accepted_in_time || ' '
                           || coalesce(response_rate::text, '-') || ' ' || coalesce(resolution_rate::text, '-') || ' '
                           || coalesce(satisfaction_rate::text, '-') || ' #' || rank
                      FROM hotline.unit_evaluation WHERE unit IN ('XA-CGJ', 'XA-ZJJ') ORDER BY period, starts, rank, unit
                    """, as: String.self, logger: db.logger)
                #expect(rows == [
                    // By hand: Q1 CGJ 1 of 2 in time, 1 of 2 resolved and satisfied; ZJJ 1 of 2 in time, 1 of 1 both.
                    "XA-ZJJ half_year 2026-01-01: 2 1 0.5000 1.0000 1.0000 #1",
                    "XA-CGJ half_year 2026-01-01: 3 2 0.6667 0.5000 0.5000 #2",
                    "XA-CGJ month 2026-01-01: 1 1 1.0000 1.0000 1.0000 #1",
                    "XA-ZJJ month 2026-01-01: 1 1 1.0000 1.0000 1.0000 #1",
                    "XA-CGJ month 2026-02-01: 1 0 0.0000 0.0000 0.0000 #1",
                    "XA-ZJJ month 2026-03-01: 1 0 0.0000 - - #1",
                    "XA-CGJ month 2026-04-01: 1 1 1.0000 - - #1",
                    "XA-ZJJ quarter 2026-01-01: 2 1 0.5000 1.0000 1.0000 #1",
                    "XA-CGJ quarter 2026-01-01: 2 1 0.5000 0.5000 0.5000 #2",
                    "XA-CGJ quarter 2026-04-01: 1 1 1.0000 - - #1",
                    "XA-ZJJ year 2026-01-01: 2 1 0.5000 1.0000 1.0000 #1",
                    "XA-CGJ year 2026-01-01: 3 2 0.6667 0.5000 0.5000 #2",
                ])
            }
        }
    }

    @Test func intakeLedgersEscalationsAndRunningJobsAreVisible() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                _ = try await Self.ticket(client, "d1", channel: "web", at: "2026-11-20 10:00")
                _ = try await Self.ticket(client, "d2", channel: "app", at: "2026-11-20 11:00")
                _ = try await Self.ticket(client, "d3", channel: "phone", at: "2026-11-20 23:30")
                let ledger = try await Self.ticket(client, "d4", channel: "phone", at: "2026-11-21 00:10")
                try await client.execute("UPDATE hotline.tickets SET special_ledger = '{unclear_responsibility,buck_passing}' WHERE id = \(ledger)", logger: db.logger)

                let days = try await client.all("""
                    SELECT day::text || ' ' || tickets || ' ' || online || ' ' || online_share FROM hotline.daily_intake ORDER BY day
                    """, as: String.self, logger: db.logger)
                #expect(days == ["2026-11-20 3 2 0.6667", "2026-11-21 1 0 0.0000"], "local days: 00:10 on the 21st is not the 20th")
                #expect(try await client.count("SELECT tickets::int FROM hotline.tickets_by_channel WHERE channel = 'phone' AND status = 'received'") == 2)
                let kinds = try await client.all("SELECT kind FROM hotline.special_ledgers ORDER BY kind", as: String.self, logger: db.logger)
                #expect(kinds == ["buck_passing", "unclear_responsibility"])

                _ = try await client.first("SELECT hotline.open_escalation(\(ledger), 'buck_passing', 1, '{}', 'test')", as: Int64.self, logger: db.logger)
                #expect(try await client.count("SELECT escalations::int FROM hotline.escalations_by_level WHERE level = 1 AND trigger = 'buck_passing' AND state = 'open'") == 1)

                _ = try await client.all("SELECT id FROM queue.claim('intake-extraction', 'dba-test', 1, 60)", as: Int64.self, logger: db.logger)
                let running = try await client.all("SELECT lease_owner FROM queue.running_jobs", as: String.self, logger: db.logger)
                #expect(running == ["dba-test"])
            }
        }
    }
}
