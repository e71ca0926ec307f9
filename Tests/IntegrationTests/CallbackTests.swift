import Foundation
import Logging
import PostgresNIO
@testable import SatisfactionCallback
import Shared
import Testing

/// The satisfaction callback on the real database: closing schedules the survey, replies come
/// in as SMS and are read by the real worker, unsatisfied reopens and escalates, unclear or
/// missing replies go to an operator, and the units' monthly KPIs follow.
@Suite("Satisfaction callback")
struct CallbackTests {
    static func callbackWorker() throws -> Worker {
        var worker = try Worker(name: "satisfaction-callback", queue: "satisfaction-callback")
        try CallbackJobs.register(on: &worker)
        return worker
    }

    /// Surveys go out at once and quiet hours are off, so the tests do not depend on the hour.
    static func immediateCallbacks(_ client: PostgresClient) async throws {
        try await client.execute("UPDATE hotline.settings SET value = '0' WHERE key = 'callback.delay_minutes'", logger: TestDatabase.logger)
        try await client.execute(#"UPDATE hotline.settings SET value = '["00:00", "00:00"]' WHERE key = 'citizen.quiet_hours'"#, logger: TestDatabase.logger)
    }

    /// A ticket from `phone`, handled by XA-CGJ and closed (the current round).
    static func closed(_ client: PostgresClient, _ externalID: String, phone: String?, ticket existing: Int64? = nil) async throws -> Int64 {
        let ticket: Int64
        if let existing {
            ticket = existing
        } else {
            ticket = try await DispatchTests.extracted(client, externalID, category: DispatchTests.streetlights, phone: phone)
            _ = try await client.first(#"SELECT hotline.record_dispatch(\#(ticket), 'person', 'test', '{"lead":"XA-CGJ"}')"#, as: Int.self, logger: TestDatabase.logger)
        }
        try await client.execute("SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', '张科长')", logger: TestDatabase.logger)
        try await client.execute("SELECT hotline.give_feedback(\(ticket), 'XA-CGJ', '张科长', '已更换灯具', true)", logger: TestDatabase.logger)
        try await client.execute("SELECT hotline.request_close(\(ticket), 'XA-CGJ', '张科长')", logger: TestDatabase.logger)
        return ticket
    }

    static func surveys(_ client: PostgresClient, _ ticket: Int64) async throws -> [String] {
        try await client.all("""
            SELECT round || ':' || status || ':' || coalesce(resolved::text, '-') || ':' || coalesce(satisfaction, '-')
              FROM hotline.callback_surveys WHERE ticket_id = \(ticket) ORDER BY id
            """, as: String.self, logger: TestDatabase.logger)
    }

    static func reply(_ client: PostgresClient, _ phone: String, _ text: String) async throws {
        _ = try await client.first("SELECT hotline.receive_sms(\(phone), \(text))", as: Int64.self, logger: TestDatabase.logger)
    }

    @Test(arguments: [
        ("2026-11-25 22:30", "2026-11-26 08:00"),
        ("2026-11-26 07:59", "2026-11-26 08:00"),
        ("2026-11-26 08:00", "2026-11-26 08:00"),
        ("2026-11-26 13:15", "2026-11-26 13:15"),
        ("2026-11-26 20:59", "2026-11-26 20:59"),
        ("2026-11-26 21:00", "2026-11-27 08:00"),
    ])
    func citizensGetNoSurveyAtNight(at: String, expected: String) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let moved = try await client.first("""
                    SELECT to_char(hotline.outside_quiet_hours((\(at) || '+08')::timestamptz) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')
                    """, as: String.self, logger: db.logger)
                #expect(moved == expected, "a survey due at \(at)")
            }
        }
    }

    @Test func closingSchedulesTheSurveyAfterTheDelayAndOutOfQuietHours() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.closed(client, "sched-1", phone: "13900000001")
                let ok = try await client.first("""
                    SELECT abs(extract(epoch FROM j.run_at - hotline.outside_quiet_hours(t.closed_at + interval '120 minutes'))) < 1
                      FROM queue.jobs j, hotline.tickets t
                     WHERE j.queue = 'satisfaction-callback' AND j.kind = 'ticket.callback' AND t.id = \(ticket)
                       AND j.payload = jsonb_build_object('ticket_id', t.id, 'round', 1)
                    """, as: Bool.self, logger: db.logger)
                #expect(ok == true, "one callback job, due 2 hours after closing unless that falls in the night")
            }
        }
    }

    @Test func aSatisfiedReplyIsRecordedAndTheTicketStaysClosed() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in try await Self.immediateCallbacks(client) }
            try await withWorker(try Self.callbackWorker(), on: db) { queue in
                let client = queue.client
                let ticket = try await Self.closed(client, "happy-1", phone: "13900000002")
                try await eventually("survey sent") { try await Self.surveys(client, ticket) == ["1:sent:-:-"] }
                #expect(try await client.count("""
                    SELECT count(*)::int FROM hotline.sms_outbox WHERE ticket_id = \(ticket) AND template = 'callback.survey' AND phone = '13900000002'
                    """) == 1)
                try await Self.reply(client, "139 0000 0002", "１，谢谢你们")
                try await eventually("reply read") { try await Self.surveys(client, ticket) == ["1:answered:true:satisfied"] }
                #expect(try await DispatchTests.status(client, ticket) == "closed")
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'escalation'") == 0)
                let events = try await client.all("SELECT event FROM hotline.ticket_events WHERE ticket_id = \(ticket) ORDER BY seq",
                                                  as: String.self, logger: db.logger)
                #expect(events.suffix(3) == ["closed", "callback_sent", "callback_answered"])
            }
        }
    }

    @Test func unsatisfiedReopensToTheSameLeadAndTheSecondTimeEscalatesFurther() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in try await Self.immediateCallbacks(client) }
            try await withWorker(try Self.callbackWorker(), on: db) { queue in
                let client = queue.client
                let ticket = try await Self.closed(client, "sad-1", phone: "13900000003")
                try await eventually("survey sent") { try await Self.surveys(client, ticket) == ["1:sent:-:-"] }
                try await Self.reply(client, "13900000003", "说是修了其实根本没人来，不满意")
                try await eventually("reopened and sent back") { try await DispatchTests.status(client, ticket) == "dispatched" }
                #expect(try await Self.surveys(client, ticket) == ["1:answered:false:unsatisfied"])
                #expect(try await DispatchTests.assignments(client, ticket) == ["XA-CGJ:lead:pending"], "the same lead, a new round")
                #expect(try await client.count("SELECT dispatch_round FROM hotline.tickets WHERE id = \(ticket)") == 2)
                let first = try await client.all("""
                    SELECT payload->>'trigger' || ':' || (payload->>'level') FROM queue.jobs WHERE queue = 'escalation' ORDER BY id
                    """, as: String.self, logger: db.logger)
                #expect(first == ["unsatisfied:1"])

                _ = try await Self.closed(client, "sad-1", phone: nil, ticket: ticket)
                try await eventually("second survey sent") { try await Self.surveys(client, ticket).count == 2 }
                try await Self.reply(client, "13900000003", "3")
                try await eventually("second reply read") { try await Self.surveys(client, ticket).last == "2:answered:-:unsatisfied" }
                let both = try await client.all("""
                    SELECT payload->>'trigger' || ':' || (payload->>'level') FROM queue.jobs WHERE queue = 'escalation' ORDER BY id
                    """, as: String.self, logger: db.logger)
                #expect(both == ["unsatisfied:1", "unsatisfied:2"], "the second unsatisfied answer goes a level higher")
                let intact = try await client.first("SELECT ok FROM hotline.verify_ticket_chain(\(ticket))", as: Bool.self, logger: db.logger)
                #expect(intact == true)
            }
        }
    }

    @Test func unclearRepliesSilenceAndMissingPhonesGoToAnOperator() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in try await Self.immediateCallbacks(client) }
            try await withWorker(try Self.callbackWorker(), on: db) { queue in
                let client = queue.client
                let unclear = try await Self.closed(client, "op-1", phone: "13900000004")
                let silent = try await Self.closed(client, "op-2", phone: "13900000005")
                let nophone = try await Self.closed(client, "op-3", phone: nil)
                try await eventually("surveys out") {
                    try await client.count("SELECT count(*)::int FROM hotline.callback_surveys") == 3
                }
                try await Self.reply(client, "13900000004", "好的")
                try await eventually("unclear reply queued") {
                    try await Self.surveys(client, unclear) == ["1:operator:-:-"]
                }
                // The reply window's end, without waiting 48 hours: the job's own SQL, called now.
                let silence = try await client.first("SELECT hotline.callback_timeout(id) FROM hotline.callback_surveys WHERE ticket_id = \(silent)",
                                                     as: String.self, logger: db.logger)
                #expect(silence == "operator")
                #expect(try await Self.surveys(client, nophone) == ["1:operator:-:-"])
                let reasons = try await client.all("""
                    SELECT reason FROM hotline.operator_callbacks WHERE status = 'waiting' ORDER BY ticket_id
                    """, as: String.self, logger: db.logger)
                #expect(reasons == ["unclear_reply", "no_reply", "no_phone"])

                // The operator calls and records what the citizen said.
                _ = try await client.first("""
                    SELECT hotline.record_callback((SELECT id FROM hotline.callback_surveys WHERE ticket_id = \(unclear)), true, 'basically_satisfied', '电话回访：基本满意', '回访员小李')
                    """, as: Int.self, logger: db.logger)
                #expect(try await Self.surveys(client, unclear) == ["1:answered:true:basically_satisfied"])
                #expect(try await client.count("SELECT count(*)::int FROM hotline.operator_callbacks WHERE status = 'waiting'") == 2)

                // With the no-answer policy, silence is recorded as not answered.
                try await client.execute(#"UPDATE hotline.settings SET value = '"no_answer"' WHERE key = 'callback.no_reply'"#, logger: db.logger)
                let quiet = try await Self.closed(client, "op-4", phone: "13900000006")
                try await eventually("survey out") { try await Self.surveys(client, quiet).count == 1 }
                let unanswered = try await client.first("SELECT hotline.callback_timeout(id) FROM hotline.callback_surveys WHERE ticket_id = \(quiet)",
                                                        as: String.self, logger: db.logger)
                #expect(unanswered == "no_answer")
            }
        }
    }

    @Test func smsFromSomeoneWithoutAnOpenSurveyIsKeptAndNotRead() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let id = try #require(try await client.first("SELECT hotline.receive_sms('13900000099', '1')", as: Int64.self, logger: db.logger))
                let status = try await client.first("SELECT status FROM hotline.sms_inbound WHERE id = \(id)", as: String.self, logger: db.logger)
                #expect(status == "unmatched")
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'satisfaction-callback'") == 0)
            }
        }
    }

    @Test func theUnitsMonthlyKPIsCountResponseResolutionAndSatisfaction() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await Self.immediateCallbacks(client)
                var surveys: [Int64] = []
                for (index, phone) in ["13900000011", "13900000012", "13900000013"].enumerated() {
                    let ticket = try await Self.closed(client, "kpi-\(index)", phone: phone)
                    surveys.append(try #require(try await client.first("SELECT hotline.send_callback_survey(\(ticket), 1)", as: Int64.self, logger: db.logger)))
                }
                for (survey, answer) in zip(surveys, ["true, 'satisfied'", "true, 'basically_satisfied'", "false, 'unsatisfied'"]) {
                    _ = try await client.first(PostgresQuery(unsafeSQL: "SELECT hotline.record_callback(\(survey), \(answer), '', 'test')"),
                                               as: Int.self, logger: db.logger)
                }
                let row = try #require(try await client.first("""
                    SELECT dispatched::int, accepted_in_time::int, response_rate::float8, resolution_rate::float8, satisfaction_rate::float8
                      FROM hotline.unit_monthly_kpis WHERE unit = 'XA-CGJ'
                    """, as: (Int, Int, Double, Double, Double).self, logger: db.logger))
                #expect(row.0 == 4, "three rounds plus the reopened one")
                #expect(row.1 == 3, "the reopened round is not accepted yet")
                #expect(row.2 == 0.75)
                #expect(abs(row.3 - 2.0 / 3) < 0.001 && abs(row.4 - 2.0 / 3) < 0.001)
            }
        }
    }

    @Test(arguments: [
        ("HL091", "SELECT hotline.receive_sms('12345', '1')", "a malformed sender"),
        ("HL092", "SELECT hotline.receive_sms('13900000001', '   ')", "an empty message"),
        ("HL094", "SELECT hotline.record_callback($S, NULL, NULL, 'x', 'x')", "an answer that says nothing"),
        ("HL093", "SELECT hotline.record_callback(999999, true, NULL, 'x', 'x')", "an unknown survey"),
        ("HL094", "SELECT hotline.record_callback($S, true, 'delighted', 'x', 'x')", "an unknown grade"),
        ("HL093", "SELECT hotline.record_callback($S, true, 'satisfied', 'x', 'x'); SELECT hotline.record_callback($S, true, 'satisfied', 'x', 'x')", "answering twice"),
        ("HL093", "SELECT hotline.record_callback($S, true, 'satisfied', 'x', 'x'); SELECT hotline.callback_unclear($S, 'x', 'y')", "calling an answered reply unclear"),
    ])
    func badCallbackInputIsRejectedAndChangesNothing(code: String, sql: String, what: String) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.closed(client, "bad-cb", phone: "13900000021")
                let survey = try #require(try await client.first("SELECT hotline.send_callback_survey(\(ticket), 1)", as: Int64.self, logger: db.logger))
                try await expectRefused(client, sql.replacingOccurrences(of: "$S", with: String(survey)), code: code, what: what,
                                        footprint: "SELECT (SELECT count(*) FROM hotline.ticket_events) + (SELECT count(*) FROM hotline.sms_inbound) + (SELECT count(*) FROM queue.jobs)")
            }
        }
    }

    @Test func badCallbackJobsGoDeadAlone() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                for (kind, payload) in [("ticket.callback", #"{"ticket_id": 999999, "round": 1}"#), ("ticket.callback", #"{"ticket_id": 1}"#),
                                        ("survey.timeout", #"{"survey_id": 999999}"#), ("sms.reply", #"{"inbound_id": -4}"#),
                                        ("sms.reply", #"{"inbound_id": "x"}"#)] {
                    _ = try await client.first("SELECT queue.enqueue('satisfaction-callback', \(kind), \(payload)::jsonb)", as: Int64.self, logger: db.logger)
                }
            }
            try await withWorker(try Self.callbackWorker(), on: db) { queue in
                try await eventually("all dead") {
                    try await queue.client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'satisfaction-callback' AND status = 'dead' AND attempt = 1") == 5
                }
            }
        }
    }
}
