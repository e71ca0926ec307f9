import Foundation
import Logging
import PostgresNIO
@testable import SLATimer
import Shared
import Testing

/// SLA timers on the real database with an injected clock: `hotline.fire_sla_timers(p_now)` is
/// given the moment to act at, so no test sleeps for a real deadline.
@Suite("SLA timers")
struct SLATimerTests {
    /// A ticket of `urgency` dispatched to `lead` (and co-handlers) through the SQL contract.
    static func dispatch(_ client: PostgresClient, _ externalID: String, urgency: String = "normal",
                         lead: String = "XA-CGJ", coHandlers: [String] = []) async throws -> Int64 {
        let ticket = try await DispatchTests.extracted(client, externalID, category: DispatchTests.streetlights, urgency: urgency)
        let plan = #"{"lead":"\#(lead)","co_handlers":[\#(coHandlers.map { "\"\($0)\"" }.joined(separator: ","))],"cc":[]}"#
        _ = try await client.first("SELECT hotline.record_dispatch(\(ticket), 'person', 'test', \(plan)::jsonb)", as: Int.self, logger: TestDatabase.logger)
        return ticket
    }

    /// Fires every due point as if the clock read the ticket's (latest) dispatch time plus `after`,
    /// as the worker does: a call fires one point per timer, so it calls until nothing is due.
    @discardableResult
    static func fire(_ client: PostgresClient, _ ticket: Int64, after: String) async throws -> Int {
        var total = 0
        while true {
            let fired = try await client.count("""
                SELECT fired FROM hotline.fire_sla_timers((SELECT dispatched_at FROM hotline.tickets WHERE id = \(ticket)) + \(after)::interval, 1000)
                """)
            if fired == 0 { return total }
            total += fired
        }
    }

    /// The SLA events on a ticket, as "event:timer:unit".
    static func slaEvents(_ client: PostgresClient, _ ticket: Int64) async throws -> [String] {
        try await client.all("""
            SELECT event || ':' || (details->>'timer') || ':' || (details->>'unit') FROM hotline.ticket_events
             WHERE ticket_id = \(ticket) AND event LIKE 'sla\\_%' ORDER BY seq
            """, as: String.self, logger: TestDatabase.logger)
    }

    @Test(arguments: [
        ("emergency", 3_600.0, 7_200.0),
        ("basic_livelihood", 3_600.0, 86_400.0),
        ("normal", 3_600.0, 7 * 86_400.0),
        ("enterprise", 3_600.0, 7 * 86_400.0),
    ])
    func eachClassGetsItsDeadlines(urgency: String, accept: Double, feedback: Double) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.dispatch(client, "class-\(urgency)", urgency: urgency)
                let timers = try await client.all("""
                    SELECT kind, extract(epoch FROM due_at - started_at)::float8, extract(epoch FROM next_fire_at - started_at)::float8
                      FROM hotline.sla_timers WHERE ticket_id = \(ticket) ORDER BY kind
                    """, as: (String, Double, Double).self, logger: db.logger)
                #expect(timers.map(\.0) == ["accept", "feedback"])
                #expect(timers.map(\.1) == [accept, feedback], "\(urgency): accept within 1 hour, then its feedback allowance")
                #expect(timers.map(\.2) == [accept * 0.75, feedback * 0.75], "the first point is the warning at 75 %")
                let assignment = try await client.all("""
                    SELECT extract(epoch FROM accept_due_at - dispatched_at)::float8, extract(epoch FROM feedback_due_at - dispatched_at)::float8
                      FROM hotline.assignments WHERE ticket_id = \(ticket)
                    """, as: (Double, Double).self, logger: db.logger)
                #expect(assignment.map(\.0) == [accept] && assignment.map(\.1) == [feedback], "the assignment shows the same deadlines")
            }
        }
    }

    @Test func complexMattersCountFifteenWorkingDays() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.dispatch(client, "class-complex", urgency: "complex")
                let row = try #require(try await client.first("""
                    SELECT due_at = hotline.add_working_days(started_at, 15), due_at - started_at >= interval '19 days'
                      FROM hotline.sla_timers WHERE ticket_id = \(ticket) AND kind = 'feedback'
                    """, as: (Bool, Bool).self, logger: db.logger))
                #expect(row.0, "the feedback deadline follows the working-day calendar")
                #expect(row.1, "15 working days are three working weeks: at least 19 calendar days, whatever the starting day")
            }
        }
    }

    @Test(arguments: [
        // Wednesday before the National Day week: 1 Oct–7 Oct off, Saturday 10 Oct a swapped working day.
        ("2026-09-30 10:00", 1, "2026-10-08 10:00"),
        ("2026-09-30 10:00", 3, "2026-10-10 10:00"),
        ("2026-09-30 10:00", 4, "2026-10-12 10:00"),
        // Started on a holiday: the clock starts on the next working day, so it ends at that day's end.
        ("2026-10-03 15:30", 1, "2026-10-09 00:00"),
        // Spring Festival: 15–23 Feb off; Saturday 14 Feb and Saturday 28 Feb worked.
        ("2026-02-13 09:00", 1, "2026-02-14 09:00"),
        ("2026-02-13 09:00", 2, "2026-02-24 09:00"),
        ("2026-02-27 18:00", 1, "2026-02-28 18:00"),
        // An ordinary week: Friday + 1 is Monday; a Sunday start ends with Monday.
        ("2026-11-27 11:00", 1, "2026-11-30 11:00"),
        ("2026-11-29 11:00", 1, "2026-12-01 00:00"),
        ("2026-11-25 10:00", 15, "2026-12-16 10:00"),
    ])
    func workingDaysFollowTheCalendar(start: String, days: Int, expected: String) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let due = try await client.first("""
                    SELECT to_char(hotline.add_working_days((\(start) || '+08')::timestamptz, \(days)::int) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')
                    """, as: String.self, logger: db.logger)
                #expect(due == expected, "\(days) working days after \(start)")
            }
        }
    }

    @Test func aMissedAcceptanceWarnsThenUrgesThenAsksForEscalation() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.dispatch(client, "points-1")
                #expect(try await Self.fire(client, ticket, after: "44 minutes") == 0, "nothing before 75 % of the hour")
                #expect(try await Self.fire(client, ticket, after: "45 minutes") == 1)
                #expect(try await Self.slaEvents(client, ticket) == ["sla_warning:accept:XA-CGJ"])
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sms_outbox WHERE ticket_id = \(ticket) AND template = 'sla.warning'") == 1)
                #expect(try await Self.fire(client, ticket, after: "50 minutes") == 0, "a point fires once")

                #expect(try await Self.fire(client, ticket, after: "1 hour") == 1)
                #expect(try await Self.slaEvents(client, ticket) == ["sla_warning:accept:XA-CGJ", "sla_overdue:accept:XA-CGJ"])
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sms_outbox WHERE ticket_id = \(ticket) AND template = 'sla.urging'") == 1)
                #expect(try await client.count("SELECT urges FROM hotline.tickets WHERE id = \(ticket)") == 1)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.assignments WHERE ticket_id = \(ticket) AND overdue_at IS NOT NULL") == 1,
                        "the assignment is marked overdue")

                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'escalation'") == 0)
                #expect(try await Self.fire(client, ticket, after: "2 hours") == 1, "overdue by 100 % of the allowance")
                let job = try await client.first("""
                    SELECT payload->>'trigger' || ':' || (payload->>'level') FROM queue.jobs WHERE queue = 'escalation' AND kind = 'ticket.escalate'
                    """, as: String.self, logger: db.logger)
                #expect(job == "severely_overdue:1")
                #expect(try await client.count("""
                    SELECT count(*)::int FROM hotline.sla_timers WHERE ticket_id = \(ticket) AND kind = 'accept' AND status = 'running' AND next_fire_at IS NULL
                    """) == 1, "all points acted; the timer still runs until the unit acts")
                let intact = try await client.first("SELECT ok FROM hotline.verify_ticket_chain(\(ticket))", as: Bool.self, logger: db.logger)
                #expect(intact == true)
            }
        }
    }

    @Test func acceptingStopsTheAcceptTimerAndLateAcceptanceStillCounts() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let onTime = try await Self.dispatch(client, "accept-1")
                try await client.execute("SELECT hotline.accept_ticket(\(onTime), 'XA-CGJ', '张科长')", logger: db.logger)
                try await Self.fire(client, onTime, after: "3 hours")
                #expect(try await Self.slaEvents(client, onTime).isEmpty, "a met timer never fires")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sla_timers WHERE ticket_id = \(onTime) AND kind = 'accept' AND status = 'met' AND stopped_at <= due_at") == 1)

                let late = try await Self.dispatch(client, "accept-2")
                try await Self.fire(client, late, after: "1 hour")
                try await client.execute("SELECT hotline.accept_ticket(\(late), 'XA-CGJ', '张科长')", logger: db.logger)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sla_timers WHERE ticket_id = \(late) AND kind = 'accept' AND status = 'met'") == 1)
                try await Self.fire(client, late, after: "3 hours")
                #expect(try await Self.slaEvents(client, late) == ["sla_warning:accept:XA-CGJ", "sla_overdue:accept:XA-CGJ"],
                        "accepted after urging: no escalation point fires")
            }
        }
    }

    /// The breach rate's parts (`hotline.sla_outcomes`, sql/0021) on a history laid out by hand:
    /// each deadline counts once, in the window it ended in; cancelled ones count nowhere.
    @Test func theBreachRateCountsEachDeadlineInTheWindowItEnded() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let onTime = try await Self.dispatch(client, "outcome-1")
                try await client.execute("SELECT hotline.accept_ticket(\(onTime), 'XA-CGJ', '张科长')", logger: db.logger)
                let late = try await Self.dispatch(client, "outcome-2")
                let open = try await Self.dispatch(client, "outcome-3")
                let old = try await Self.dispatch(client, "outcome-4")
                for statement: PostgresQuery in [
                    "UPDATE hotline.sla_timers SET status = 'met', due_at = now() - interval '20 minutes', stopped_at = now() - interval '5 minutes' WHERE ticket_id = \(late) AND kind = 'accept'",
                    "UPDATE hotline.sla_timers SET due_at = now() - interval '30 minutes' WHERE ticket_id = \(open) AND kind = 'accept'",
                    "UPDATE hotline.sla_timers SET status = 'cancelled', stopped_at = now() WHERE ticket_id = \(open) AND kind = 'feedback'",
                    "UPDATE hotline.sla_timers SET due_at = now() - interval '2 hours' WHERE ticket_id = \(old) AND kind = 'accept'",
                    "UPDATE hotline.sla_timers SET status = 'met', stopped_at = now() - interval '3 hours' WHERE ticket_id = \(old) AND kind = 'feedback'",
                ] {
                    try await client.execute(statement, logger: db.logger)
                }

                let hour = try await SLAOutcomes(every: .seconds(60), window: .seconds(3600)).read(client, db.logger)
                #expect(hour == [.init(timer: "accept", inTime: 1, late: 1, overdue: 1), .init(timer: "feedback", inTime: 0, late: 0, overdue: 0)],
                        "the last hour: one accepted in time, one late, one still open past due; the older ones and the cancelled one not")
                let day = try await SLAOutcomes(every: .seconds(60), window: .seconds(86_400)).read(client, db.logger)
                #expect(day == [.init(timer: "accept", inTime: 1, late: 1, overdue: 2), .init(timer: "feedback", inTime: 1, late: 0, overdue: 0)])
                let before = try await client.all("""
                    SELECT timer, in_time::int8, late::int8, overdue::int8 FROM hotline.sla_outcomes(interval '1 hour', now() - interval '150 minutes')
                    """, as: (String, Int, Int, Int).self, logger: db.logger)
                #expect(before.map { "\($0.0):\($0.1)/\($0.2)/\($0.3)" } == ["accept:0/0/0", "feedback:1/0/0"],
                        "the hour that ended 2½ hours ago: the feedback met 3 hours ago; the accept due 2 hours ago was not due yet")
            }
        }
    }

    @Test func theBreachRateSettingsAreRead() throws {
        #expect(try SLAOutcomes(environment: EnvironmentReader([:])).every == .seconds(60))
        #expect(try SLAOutcomes(environment: EnvironmentReader(["HOTLINE_SLA_OUTCOMES_SECONDS": "off"])).every == nil)
        #expect(try SLAOutcomes(environment: EnvironmentReader(["HOTLINE_SLA_OUTCOMES_WINDOW_SECONDS": "86400"])).window == .seconds(86_400))
        for (name, value) in [("HOTLINE_SLA_OUTCOMES_SECONDS", "1"), ("HOTLINE_SLA_OUTCOMES_SECONDS", "hourly"), ("HOTLINE_SLA_OUTCOMES_WINDOW_SECONDS", "30")] {
            #expect(throws: ConfigurationError.self, "\(name)=\(value)") { try SLAOutcomes(environment: EnvironmentReader([name: value])) }
        }
    }

    @Test func aReturnCancelsTheRoundAndRedispatchRearmsTheTimers() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.dispatch(client, "rearm-1", coHandlers: ["610113-GOV"])
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sla_timers WHERE ticket_id = \(ticket) AND status = 'running'") == 4)
                try await client.execute("""
                    SELECT hotline.return_ticket(\(ticket), 'XA-CGJ', '张科长', '路灯属供电公司产权', '《城市照明管理规定》第十条', 'XA-POWER')
                    """, logger: db.logger)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sla_timers WHERE ticket_id = \(ticket) AND status = 'running'") == 0,
                        "the withdrawn round's timers stop")
                _ = try await client.first(#"SELECT hotline.record_dispatch(\#(ticket), 'person', 'test', '{"lead":"XA-POWER"}')"#,
                                           as: Int.self, logger: db.logger)
                let running = try await client.all("""
                    SELECT u.code || ':' || s.kind FROM hotline.sla_timers s JOIN hotline.assignments a ON a.id = s.assignment_id
                      JOIN hotline.handling_units u ON u.id = a.unit_id WHERE s.ticket_id = \(ticket) AND s.status = 'running' ORDER BY s.kind
                    """, as: String.self, logger: db.logger)
                #expect(running == ["XA-POWER:accept", "XA-POWER:feedback"])
                try await Self.fire(client, ticket, after: "1 hour")
                #expect(try await Self.slaEvents(client, ticket) == ["sla_warning:accept:XA-POWER", "sla_overdue:accept:XA-POWER"],
                        "only the new round's timers fire")
            }
        }
    }

    @Test func pausingStopsTheFeedbackClockAndResumingRestartsIt() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.dispatch(client, "pause-1", urgency: "emergency")
                try await client.execute("SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', '张科长')", logger: db.logger)
                try await client.execute("SELECT hotline.pause_ticket(\(ticket), 'XA-CGJ', '张科长', '请群众补充具体位置')", logger: db.logger)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sla_timers WHERE ticket_id = \(ticket) AND status = 'paused'") == 1)
                try await Self.fire(client, ticket, after: "5 hours")
                #expect(try await Self.slaEvents(client, ticket).isEmpty, "a paused deadline does not fire")
                let dueBefore = try await client.first("SELECT due_at FROM hotline.sla_timers WHERE ticket_id = \(ticket) AND kind = 'feedback'",
                                                       as: Date.self, logger: db.logger)
                try await Task.sleep(for: .milliseconds(300))
                try await client.execute("SELECT hotline.resume_ticket(\(ticket), 'XA-CGJ', '张科长')", logger: db.logger)
                let dueAfter = try await client.first("""
                    SELECT due_at FROM hotline.sla_timers WHERE ticket_id = \(ticket) AND kind = 'feedback' AND status = 'running'
                    """, as: Date.self, logger: db.logger)
                let moved = try #require(dueAfter).timeIntervalSince(try #require(dueBefore))
                #expect(moved > 0.2, "the deadline moves by the time spent paused (\(moved) s)")
                let allowance = try await client.first("""
                    SELECT extract(epoch FROM due_at - started_at)::float8 FROM hotline.sla_timers WHERE ticket_id = \(ticket) AND kind = 'feedback'
                    """, as: Double.self, logger: db.logger)
                #expect(allowance.map { abs($0 - 7200) < 0.001 } == true, "the whole schedule moved: the allowance is still 2 hours")
                try await client.execute("SELECT hotline.give_feedback(\(ticket), 'XA-CGJ', '张科长', '已处理', true)", logger: db.logger)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sla_timers WHERE ticket_id = \(ticket) AND status IN ('running', 'paused')") == 0)
                let events = try await client.all("SELECT event FROM hotline.ticket_events WHERE ticket_id = \(ticket) ORDER BY seq",
                                                  as: String.self, logger: db.logger)
                #expect(events.suffix(4) == ["accepted", "paused", "resumed", "feedback_given"])
            }
        }
    }

    @Test func aCoHandlerThatReturnsWhileThePauseRunsIsNotTimedAfterIt() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.dispatch(client, "pause-2", coHandlers: ["610113-GOV"])
                try await client.execute("SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', '张科长')", logger: db.logger)
                try await client.execute("SELECT hotline.pause_ticket(\(ticket), 'XA-CGJ', '张科长', '等待群众补充材料')", logger: db.logger)
                try await client.execute("SELECT hotline.return_ticket(\(ticket), '610113-GOV', '王', '非本区职责', '属地管理规定', 'XA-ZJJ')", logger: db.logger)
                try await client.execute("SELECT hotline.resume_ticket(\(ticket), 'XA-CGJ', '张科长')", logger: db.logger)
                let timers = try await client.all("""
                    SELECT u.code || ':' || s.kind || ':' || s.status FROM hotline.sla_timers s JOIN hotline.assignments a ON a.id = s.assignment_id
                      JOIN hotline.handling_units u ON u.id = a.unit_id WHERE s.ticket_id = \(ticket) ORDER BY u.code, s.kind
                    """, as: String.self, logger: db.logger)
                #expect(timers == ["610113-GOV:accept:met", "610113-GOV:feedback:cancelled", "XA-CGJ:accept:met", "XA-CGJ:feedback:running"])
            }
        }
    }

    @Test func theLeadsFeedbackMeetsTheRoundsFeedbackDeadlines() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.dispatch(client, "feedback-1", coHandlers: ["610113-GOV"])
                try await client.execute("SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', '张科长')", logger: db.logger)
                try await client.execute("SELECT hotline.accept_ticket(\(ticket), '610113-GOV', '王')", logger: db.logger)
                try await client.execute("SELECT hotline.give_feedback(\(ticket), 'XA-CGJ', '张科长', '已处理完毕', true)", logger: db.logger)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sla_timers WHERE ticket_id = \(ticket) AND status = 'running'") == 0,
                        "co-handlers are not urged for an answered ticket")
            }
        }
    }

    @Test func severalFiringProcessesFireEachPointOnce() async throws {
        try await TestDatabase.with { db in
            try await db.withClient(maximumConnections: 10) { client async throws in
                var tickets: [Int64] = []
                for i in 0..<12 { tickets.append(try await Self.dispatch(client, "once-\(i)", coHandlers: ["610113-GOV"])) }
                // Every accept timer's three points are due; six firers race with small batches.
                let total = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            var fired = 0
                            while true {
                                let n = try await client.count("SELECT fired FROM hotline.fire_sla_timers(now() + interval '3 hours', 3)")
                                fired += n
                                if n == 0 { return fired }
                            }
                        }
                    }
                    return try await group.reduce(0, +)
                }
                // 12 tickets × 2 units × accept (3 points) + feedback (7 days: none due).
                #expect(total == 72)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events WHERE event LIKE 'sla\\_%'") == 72)
                #expect(try await client.count("""
                    SELECT count(*)::int FROM (SELECT details->>'timer_id', details->>'point' FROM hotline.ticket_events
                     WHERE event LIKE 'sla\\_%' GROUP BY 1, 2 HAVING count(*) > 1) d
                    """) == 0, "no point fired twice")
            }
        }
    }

    @Test func aFiringThatDiesBeforeCommitLosesNoTimer() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.dispatch(client, "crash-1")
                // A process claims and fires, then dies before committing: its session just ends.
                let deadPID = try await Admin.withConnection(on: db.url) { connection in
                    try await connection.execute("BEGIN", logger: db.logger)
                    let pid = try await connection.first("SELECT pg_backend_pid()", as: Int.self, logger: db.logger) ?? -1
                    let fired = try await connection.first("""
                        SELECT fired FROM hotline.fire_sla_timers((SELECT dispatched_at FROM hotline.tickets WHERE id = \(ticket)) + interval '1 hour', 100)
                        """, as: Int.self, logger: db.logger)
                    #expect(fired == 1, "one point per timer and call: the warning")
                    // While that transaction is open, another firing skips its rows (never waits).
                    #expect(try await Self.fire(client, ticket, after: "1 hour") == 0)
                    return pid
                }
                #expect(try await Self.slaEvents(client, ticket).isEmpty, "nothing of the dead firing remains")
                // The server ends the dead session's transaction once it sees the socket closed; on a
                // loaded machine that can take a while, so make sure of it rather than wait on a clock.
                _ = try await client.first("SELECT pg_terminate_backend(\(deadPID)::int)", as: Bool.self, logger: db.logger)
                try await eventually("the dead session is gone") {
                    try await client.count("SELECT count(*)::int FROM pg_stat_activity WHERE pid = \(deadPID)::int") == 0
                }
                #expect(try await Self.fire(client, ticket, after: "1 hour") == 2, "the next firing does it all")
                #expect(try await Self.slaEvents(client, ticket) == ["sla_warning:accept:XA-CGJ", "sla_overdue:accept:XA-CGJ"])
            }
        }
    }

    @Test func theWorkerSleepsUntilTheNextPointAndAnEarlierTimerWakesIt() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                // Emergency accept in 2 seconds so real time can be used; the worker's idle look is
                // 50 s, longer than the test waits, so only the NOTIFY can make it fire in time.
                try await client.execute("UPDATE hotline.sla_policies SET allowance = interval '2 seconds' WHERE urgency_class = 'emergency' AND timer_kind = 'accept'",
                                         logger: db.logger)
            }
            var worker = try Worker(name: "sla-timer", queue: "sla-timer")
            try worker.registerPing()
            let firing = TimerFiring(batch: 50, idleLook: .seconds(50))
            try await withWorker(worker, on: db, services: { client, listener, logger in
                [DatabaseLoop(name: "sla-timers", client: client, listener: listener, wakeOn: "hotline.sla_timers", logger: logger, step: firing.step)]
            }) { queue in
                let client = queue.client
                try await Task.sleep(for: .milliseconds(500))   // the loop has looked and sleeps
                let ticket = try await Self.dispatch(client, "live-1", urgency: "emergency")
                try await eventually("the warning and the urging fired", timeout: .seconds(30)) {
                    try await Self.slaEvents(client, ticket).count == 2
                }
                #expect(try await Self.slaEvents(client, ticket) == ["sla_warning:accept:XA-CGJ", "sla_overdue:accept:XA-CGJ"])
            }
        }
    }

    @Test func theLoopWaitsForTheNextPointButNeverLongerThanItsIdleLook() {
        let firing = TimerFiring(batch: 100, idleLook: .seconds(30))
        #expect(firing.wait(fired: 100, nextIn: 10) == .zero, "a full batch: more are due")
        #expect(firing.wait(fired: 3, nextIn: 0.25) == .milliseconds(250))
        #expect(firing.wait(fired: 0, nextIn: 600) == .seconds(30))
        #expect(firing.wait(fired: 0, nextIn: nil) == .seconds(30), "no timer at all: look again later")
        #expect(firing.wait(fired: 0, nextIn: -0.5) == firing.contended, "due but held by another process")
        #expect(firing.wait(fired: 2, nextIn: -0.5) == .zero)
    }

    @Test(arguments: [
        ("HL080", "SELECT * FROM hotline.fire_sla_timers(now(), 0)", "a firing batch of zero"),
        ("HL080", "SELECT hotline.add_working_days(now(), 0)", "zero working days"),
        ("HL081", "SELECT hotline.sla_deadline('normal', 'visit', now())", "a timer kind without policy"),
        ("HL087", "SELECT * FROM hotline.sla_outcomes(interval '10 seconds')", "a breach-rate window under a minute"),
        ("HL087", "SELECT * FROM hotline.sla_outcomes(NULL)", "no breach-rate window"),
        ("23514", "INSERT INTO hotline.sla_policies VALUES ('normal', 'accept', interval '1.5 days', 'working', '{lead}') ON CONFLICT (urgency_class, timer_kind) DO UPDATE SET allowance = EXCLUDED.allowance, day_kind = EXCLUDED.day_kind", "half a working day"),
        ("23514", "INSERT INTO hotline.sla_policy_points VALUES ('normal', 'accept', 0, 'warn')", "a point at 0 %"),
        ("23514", "INSERT INTO hotline.sla_policy_points VALUES ('normal', 'accept', 0.5, 'shout')", "an unknown action"),
        ("HL069", "SELECT hotline.accept_ticket($T, '610113-GOV', 'x'); SELECT hotline.pause_ticket($T, '610113-GOV', 'x', '等待补充')", "a co-handler pausing"),
        ("HL083", "SELECT hotline.pause_ticket($T, 'XA-CGJ', 'x', '等待补充')", "pausing before accepting"),
        ("HL083", "SELECT hotline.accept_ticket($T, 'XA-CGJ', 'x'); SELECT hotline.pause_ticket($T, 'XA-CGJ', 'x', '等待补充'); SELECT hotline.pause_ticket($T, 'XA-CGJ', 'x', '再次')", "pausing twice"),
        ("HL083", "SELECT hotline.accept_ticket($T, 'XA-CGJ', 'x'); SELECT hotline.resume_ticket($T, 'XA-CGJ', 'x')", "resuming what is not paused"),
        ("HL064", "SELECT hotline.accept_ticket($T, 'XA-CGJ', 'x'); SELECT hotline.pause_ticket($T, 'XA-CGJ', 'x', ' ')", "a pause without reason"),
    ])
    func badTimerInputIsRejectedAndChangesNothing(code: String, sql: String, what: String) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await DispatchTests.dispatched(client, "bad-sla")
                try await expectRefused(client, sql, ticket: ticket, code: code, what: what,
                                        footprint: "SELECT (SELECT count(*) FROM hotline.ticket_events) + (SELECT count(*) FROM hotline.sla_policy_points)")
            }
        }
    }
}
