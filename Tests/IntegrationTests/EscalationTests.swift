@testable import Escalation
import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

/// Escalation on the real database: every trigger, from the event or the scan that raises it to
/// the record the escalation worker opens, its recipients and their SMS; supervision and the
/// level-2 escalation; duplicates under concurrency; the hard-ticket list.
@Suite("Escalation")
struct EscalationTests {
    static func escalationWorker() throws -> Worker {
        var worker = try Worker(name: "escalation", queue: "escalation")
        try worker.register(EscalateTicket.self, handler: EscalateTicketHandler.run)
        return worker
    }

    /// The ticket's escalations as "trigger:level:state:units".
    static func escalations(_ client: PostgresClient, _ ticket: Int64) async throws -> [String] {
        try await client.all("""
            SELECT trigger || ':' || level || ':' || state || ':' || array_to_string(notified_units, ',') FROM hotline.escalations
             WHERE ticket_id = \(ticket) ORDER BY id
            """, as: String.self, logger: TestDatabase.logger)
    }

    /// Scans as if the clock read now plus `after`.
    static func scan(_ client: PostgresClient, after: String) async throws -> [String: Int] {
        let rows = try await client.all("SELECT finding, count FROM hotline.scan_escalations(now() + \(after)::interval, 1000)",
                                        as: (String, Int).self, logger: TestDatabase.logger)
        return Dictionary(rows, uniquingKeysWith: +)
    }

    static func supervise(_ client: PostgresClient, _ ticket: Int64, note: String = "请加快办理") async throws -> Int64 {
        try #require(try await client.first("""
            SELECT hotline.open_supervision(\(ticket), 'XA-DCS', '王督查', now() + interval '1 day', \(note))
            """, as: Int64.self, logger: TestDatabase.logger))
    }

    @Test(arguments: ["sensitive", "buck_passing", "repeated_urging", "severely_overdue", "long_unresolved", "unsatisfied", "supervision_without_result"])
    func eachTriggerOpensOneEscalationForItsRecipients(trigger: String) async throws {
        try await TestDatabase.with { db in
            let (ticket, expected) = try await db.withClient { client async throws -> (Int64, String) in
                let cityLevel = "610100-GOV,XA-DCS"
                switch trigger {
                case "sensitive":
                    // Intake flags it before any dispatch: the district's government hears of it.
                    let submitted = try await TicketIntakeTests.submit(client, externalID: "esc-sensitive", content: "有人在小寨路天桥上扬言要跳桥讨薪", phone: nil)
                    _ = try await client.first("""
                        SELECT outcome FROM hotline.record_extraction(
                            \(submitted.id), (SELECT id FROM hotline.jurisdictions WHERE name = '雁塔区'), NULL, NULL,
                            '劳动和社会保障/工资福利/工资发放', 'emergency', false, true, NULL, NULL, NULL, '{}'::jsonb)
                        """, as: String.self, logger: db.logger)
                    return (submitted.id, "sensitive:1:open:610113-GOV,XA-DCS")
                case "buck_passing":
                    let ticket = try await SLATimerTests.dispatch(client, "esc-buck")
                    try await client.execute("SELECT hotline.return_ticket(\(ticket), 'XA-CGJ', '甲', '不属本单位', '三定方案', 'XA-POWER')", logger: db.logger)
                    _ = try await client.first(#"SELECT hotline.record_dispatch(\#(ticket), 'person', 'test', '{"lead":"XA-POWER"}')"#, as: Int.self, logger: db.logger)
                    #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'escalation'") == 0, "one return is not buck-passing")
                    try await client.execute("SELECT hotline.return_ticket(\(ticket), 'XA-POWER', '乙', '非供电产权', '产权分界协议', 'XA-CGJ')", logger: db.logger)
                    return (ticket, "buck_passing:1:open:" + cityLevel)
                case "repeated_urging":
                    // Thresholds are settings: one urging plus one repeat call are enough here. The
                    // late co-handler is urged too, but only the lead's missed deadline counts.
                    try await client.execute("UPDATE hotline.settings SET value = '2' WHERE key = 'escalation.urges'", logger: db.logger)
                    let ticket = try await SLATimerTests.dispatch(client, "esc-urge", coHandlers: ["610113-GOV"])
                    try await SLATimerTests.fire(client, ticket, after: "1 hour")
                    #expect(try await client.count("SELECT urges FROM hotline.tickets WHERE id = \(ticket)") == 1)
                    #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'escalation'") == 0)
                    try await client.execute("UPDATE hotline.tickets SET repeat_calls = repeat_calls + 1 WHERE id = \(ticket)", logger: db.logger)
                    return (ticket, "repeated_urging:1:open:" + cityLevel)
                case "severely_overdue":
                    let ticket = try await SLATimerTests.dispatch(client, "esc-overdue")
                    try await SLATimerTests.fire(client, ticket, after: "2 hours")
                    return (ticket, "severely_overdue:1:open:" + cityLevel)
                case "long_unresolved":
                    let ticket = try await SLATimerTests.dispatch(client, "esc-long")
                    // Answered but never closed: no deadline is missed, the ticket just stays open.
                    try await client.execute("SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', '张科长')", logger: db.logger)
                    try await client.execute("SELECT hotline.give_feedback(\(ticket), 'XA-CGJ', '张科长', '正在协调', false)", logger: db.logger)
                    #expect(try await Self.scan(client, after: "29 days")["long_unresolved"] == 0)
                    #expect(try await Self.scan(client, after: "31 days")["long_unresolved"] == 1)
                    return (ticket, "long_unresolved:1:open:" + cityLevel)
                case "unsatisfied":
                    // The satisfaction-callback worker asks through the same function.
                    let ticket = try await SLATimerTests.dispatch(client, "esc-unsatisfied")
                    _ = try await client.first("SELECT hotline.request_escalation(\(ticket), 'unsatisfied', 1, '{\"answer\": \"不满意\"}')",
                                               as: Int64.self, logger: db.logger)
                    return (ticket, "unsatisfied:1:open:" + cityLevel)
                default:
                    // Accepted (no deadline left to miss by the scan's day 2) but never answered.
                    let ticket = try await SLATimerTests.dispatch(client, "esc-supervision", lead: "610113001-GOV")
                    try await client.execute("SELECT hotline.accept_ticket(\(ticket), '610113001-GOV', '街道值班')", logger: db.logger)
                    for note in ["第一次督办", "第二次督办", "第三次督办"] { _ = try await Self.supervise(client, ticket, note: note) }
                    let found = try await Self.scan(client, after: "2 days")
                    #expect(found["supervisions_closed"] == 3)
                    #expect(found["supervision_without_result"] == 1)
                    // A street office's superior is its district government; level 2 adds the discipline commission.
                    return (ticket, "supervision_without_result:2:open:610113-GOV,XA-DCS,XA-JW")
                }
            }
            try await withWorker(try Self.escalationWorker(), on: db) { queue in
                let client = queue.client
                try await eventually("\(trigger) escalated and nothing left to handle") {
                    let pending = try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'escalation'")
                    return try await Self.escalations(client, ticket).count >= 1 && pending == 0
                }
                #expect(try await Self.escalations(client, ticket) == [expected])
                let units = expected.split(separator: ":").last!.split(separator: ",").count
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sms_outbox WHERE ticket_id = \(ticket) AND template = 'escalation.opened'") == units,
                        "every recipient's duty phone gets the SMS")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events WHERE ticket_id = \(ticket) AND event = 'escalated'") == 1)
                let chainOK = try await client.first("SELECT ok FROM hotline.verify_ticket_chain(\(ticket))", as: Bool.self, logger: TestDatabase.logger)
                #expect(chainOK == true)
                // The scan finds nothing more to ask for this ticket.
                let again = try await Self.scan(client, after: trigger == "long_unresolved" ? "31 days" : "0 seconds")
                #expect(again.filter { $0.key != "supervisions_closed" && $0.key != "hard_tickets_listed" && $0.value > 0 }.isEmpty, "\(again)")
            }
        }
    }

    @Test func theScanDoesNotAskAgainForWhatIsOpenOrAlreadyAskedFor() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await SLATimerTests.dispatch(client, "again-1")
                // An escalation from round 1 nobody resolved, then a new round whose deadline is missed.
                _ = try await client.first("SELECT hotline.open_escalation(\(ticket), 'severely_overdue', 1, '{}', 'test')", as: Int64.self, logger: db.logger)
                try await client.execute("SELECT hotline.return_ticket(\(ticket), 'XA-CGJ', '甲', '不属本单位', '三定方案', 'XA-POWER')", logger: db.logger)
                _ = try await client.first(#"SELECT hotline.record_dispatch(\#(ticket), 'person', 'test', '{"lead":"XA-POWER"}')"#, as: Int.self, logger: db.logger)
                #expect(try await Self.scan(client, after: "3 hours")["severely_overdue"] == 0, "one is still open for this ticket")
                // Resolved: now the new round's overdue deadline is asked for — once, however often the scan runs.
                try await client.execute("SELECT hotline.resolve_escalation(id, '李主任', '已督促') FROM hotline.escalations WHERE ticket_id = \(ticket)", logger: db.logger)
                #expect(try await Self.scan(client, after: "3 hours")["severely_overdue"] == 1)
                #expect(try await Self.scan(client, after: "3 hours")["severely_overdue"] == 0, "its job is waiting: not asked again")
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'escalation'") == 1)
            }
        }
    }

    @Test func concurrentOpeningsOfOneEscalationMakeOneRecord() async throws {
        try await TestDatabase.with { db in
            try await db.withClient(maximumConnections: 10) { client async throws in
                let ticket = try await SLATimerTests.dispatch(client, "dup-1")
                let ids = try await withThrowingTaskGroup(of: Int64?.self) { group in
                    for i in 0..<8 {
                        group.addTask {
                            let row = try await client.first("""
                                SELECT hotline.open_escalation(\(ticket), 'severely_overdue', 1, '{}', \("worker-\(i)"))
                                """, as: Int64?.self, logger: db.logger)
                            return row ?? nil
                        }
                    }
                    return try await group.reduce(into: [Int64?]()) { $0.append($1) }
                }
                #expect(ids.compactMap { $0 }.count == 1, "exactly one opening wins: \(ids)")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.escalations WHERE ticket_id = \(ticket)") == 1)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events WHERE ticket_id = \(ticket) AND event = 'escalated'") == 1)
            }
        }
    }

    @Test func twoEscalationWorkersOpenEachRequestedEscalationOnce() async throws {
        try await TestDatabase.with { db in
            let tickets = try await db.withClient { client async throws -> [Int64] in
                var tickets: [Int64] = []
                for i in 0..<5 { tickets.append(try await SLATimerTests.dispatch(client, "two-\(i)")) }
                return tickets
            }
            try await withWorker(try Self.escalationWorker(), on: db) { _ in
                try await withWorker(try Self.escalationWorker(), on: db) { queue in
                    let client = queue.client
                    // Each ticket asked for three times over, while both workers run.
                    for _ in 0..<3 {
                        for ticket in tickets {
                            _ = try await client.first("SELECT hotline.request_escalation(\(ticket), 'unsatisfied', 1)", as: Int64.self, logger: db.logger)
                        }
                    }
                    try await eventually("all requests handled") {
                        try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'escalation'") == 0
                    }
                    #expect(try await client.count("SELECT count(*)::int FROM hotline.escalations") == 5)
                    #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events WHERE event = 'escalated'") == 5)
                }
            }
        }
    }

    @Test func anEscalationIsAcknowledgedSupervisedAndResolvedThenMayOpenAgain() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await SLATimerTests.dispatch(client, "life-1")
                let id = try #require(try await client.first("SELECT hotline.open_escalation(\(ticket), 'unsatisfied', 1, '{}', 'test')",
                                                             as: Int64.self, logger: db.logger))
                try await client.execute("SELECT hotline.acknowledge_escalation(\(id), '李主任')", logger: db.logger)
                _ = try await Self.supervise(client, ticket)
                #expect(try await Self.escalations(client, ticket) == ["unsatisfied:1:supervising:610100-GOV,XA-DCS"])
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sms_outbox WHERE ticket_id = \(ticket) AND template = 'supervision.opened'") == 1,
                        "the lead is told it is supervised")
                try await client.execute("SELECT hotline.resolve_escalation(\(id), '李主任', '已约谈承办单位，限期整改')", logger: db.logger)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.open_escalations WHERE ticket_id = \(ticket)") == 0)
                let again = try await client.first("SELECT hotline.open_escalation(\(ticket), 'unsatisfied', 1, '{}', 'test')", as: Int64?.self, logger: db.logger)
                #expect((again ?? nil) != nil, "after resolution the same trigger may escalate again")
                let events = try await client.all("SELECT event FROM hotline.ticket_events WHERE ticket_id = \(ticket) AND event LIKE '%escala%' OR ticket_id = \(ticket) AND event LIKE 'supervision%' ORDER BY seq",
                                                  as: String.self, logger: db.logger)
                #expect(events == ["escalated", "escalation_acknowledged", "supervision_opened", "escalation_resolved", "escalated"])
            }
        }
    }

    @Test(arguments: [
        ("HL084", "SELECT hotline.request_escalation($T, 'angry', 1)", "an unknown trigger"),
        ("HL084", "SELECT hotline.request_escalation($T, 'unsatisfied', 3)", "an unknown level"),
        ("HL084", "SELECT hotline.open_escalation($T, 'supervision_without_result', 1, '{}', 'x')", "a level-2 trigger at level 1"),
        ("HL040", "SELECT hotline.open_escalation(999999, 'unsatisfied', 1, '{}', 'x')", "an unknown ticket"),
        ("HL085", "SELECT hotline.acknowledge_escalation(999999, 'x')", "an unknown escalation"),
        ("HL085", "SELECT hotline.open_escalation($T, 'unsatisfied', 1, '{}', 'x'); SELECT hotline.acknowledge_escalation((SELECT max(id) FROM hotline.escalations), 'x'); SELECT hotline.acknowledge_escalation((SELECT max(id) FROM hotline.escalations), 'x')", "acknowledging twice"),
        ("HL064", "SELECT hotline.open_escalation($T, 'unsatisfied', 1, '{}', 'x'); SELECT hotline.resolve_escalation((SELECT max(id) FROM hotline.escalations), 'x', '')", "resolving without a resolution"),
        ("HL086", "SELECT hotline.open_supervision($T, 'XA-DCS', 'x', now() - interval '1 hour', '督办')", "a supervision due in the past"),
        ("HL086", "SELECT hotline.open_supervision($T, 'XA-DCS', 'x', now() + interval '1 day', '')", "a supervision without note"),
        ("HL066", "SELECT hotline.open_supervision($T, 'NOPE', 'x', now() + interval '1 day', '督办')", "a supervision by an unknown unit"),
        ("HL063", "SELECT hotline.accept_ticket($T, 'XA-CGJ', 'x'); SELECT hotline.give_feedback($T, 'XA-CGJ', 'x', '结果', true); SELECT hotline.request_close($T, 'XA-CGJ', 'x'); SELECT hotline.open_supervision($T, 'XA-DCS', 'x', now() + interval '1 day', '督办')", "supervising a closed ticket"),
        ("HL080", "SELECT * FROM hotline.scan_escalations(now(), 0)", "a scan limit of zero"),
    ])
    func badEscalationInputIsRejectedAndChangesNothing(code: String, sql: String, what: String) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await DispatchTests.dispatched(client, "bad-esc")
                try await expectRefused(client, sql, ticket: ticket, code: code, what: what,
                                        footprint: "SELECT (SELECT count(*) FROM hotline.ticket_events) + (SELECT count(*) FROM queue.jobs) + (SELECT count(*) FROM hotline.supervisions)")
            }
        }
    }

    @Test func badEscalationJobsGoDeadAloneAndAGoodOneOpens() async throws {
        try await TestDatabase.with { db in
            let ticket = try await db.withClient { client async throws -> Int64 in
                let ticket = try await SLATimerTests.dispatch(client, "jobs-1")
                for payload in [#"{"ticket_id": -1, "trigger": "unsatisfied", "level": 1}"#,
                                #"{"ticket_id": 1, "trigger": "DROP TABLE", "level": 1}"#,
                                #"{"ticket_id": 1, "trigger": "unsatisfied", "level": 3}"#,
                                #"{"ticket_id": 999999, "trigger": "unsatisfied", "level": 1}"#,
                                #"{"ticket_id": 1, "trigger": "nonexistent", "level": 1}"#,
                                #"{"trigger": "unsatisfied", "level": 1}"#,
                                #"{"ticket_id": "one", "trigger": "unsatisfied", "level": 1}"#] {
                    _ = try await client.first("SELECT queue.enqueue('escalation', 'ticket.escalate', \(payload)::jsonb)", as: Int64.self, logger: db.logger)
                }
                _ = try await client.first("SELECT hotline.request_escalation(\(ticket), 'unsatisfied', 1)", as: Int64.self, logger: db.logger)
                return ticket
            }
            try await withWorker(try Self.escalationWorker(), on: db) { queue in
                let client = queue.client
                try await eventually("bad jobs dead, the good one done") {
                    let dead = try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'escalation' AND status = 'dead'")
                    let left = try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'escalation' AND status <> 'dead'")
                    return dead == 7 && left == 0
                }
                #expect(try await client.count("SELECT max(attempt)::int FROM queue.jobs WHERE queue = 'escalation'") == 1, "dead at once, not retried")
                #expect(try await Self.escalations(client, ticket) == ["unsatisfied:1:open:610100-GOV,XA-DCS"])
            }
        }
    }

    @Test func theScanLoopClosesDueSupervisionsAndEscalatesToTheDisciplineCommission() async throws {
        try await TestDatabase.with { db in
            let ticket = try await db.withClient { client async throws -> Int64 in
                try await client.execute("UPDATE hotline.settings SET value = '1' WHERE key = 'escalation.supervisions'", logger: db.logger)
                let ticket = try await SLATimerTests.dispatch(client, "loop-1")
                _ = try await client.first("""
                    SELECT hotline.open_supervision(\(ticket), 'XA-DCS', '王督查', now() + interval '1 second', '限一秒办结')
                    """, as: Int64.self, logger: db.logger)
                return ticket
            }
            let scan = RuleScan(every: .milliseconds(200), limit: 100)
            try await withWorker(try Self.escalationWorker(), on: db, services: { client, _, logger in
                [DatabaseLoop(name: "escalation-scan", client: client, listener: nil, logger: logger, step: scan.step)]
            }) { queue in
                let client = queue.client
                try await eventually("level-2 escalation opened", timeout: .seconds(60)) {
                    try await Self.escalations(client, ticket).contains { $0.hasPrefix("supervision_without_result:2:") }
                }
                #expect(try await client.count("SELECT count(*)::int FROM hotline.supervisions WHERE ticket_id = \(ticket) AND state = 'no_result'") == 1)
                #expect(try await Self.escalations(client, ticket) == ["supervision_without_result:2:open:610100-GOV,XA-DCS,XA-JW"])
            }
        }
    }

    @Test func unclearResponsibilityTheDistrictDidNotSettleIsListedForTheMonth() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let hard = try await DispatchTests.extracted(client, "hard-1", content: "小区与相邻单位之间的围墙倒塌，两家都说不归自己管")
                try await client.execute("""
                    SELECT hotline.queue_for_dispatcher(\(hard), '{unclear_responsibility}', '[]')
                    """, logger: db.logger)
                let settled = try await DispatchTests.extracted(client, "hard-2", content: "两个社区交界处的路灯不亮，谁都不管")
                try await client.execute("SELECT hotline.queue_for_dispatcher(\(settled), '{unclear_responsibility}', '[]')", logger: db.logger)
                _ = try await client.first("""
                    SELECT hotline.dispatcher_decide(\(settled), '调度员', '城乡建设/城市建设和市政管理/基础设施', '610113-GOV')
                    """, as: Int.self, logger: db.logger)
                try await client.execute("SELECT hotline.accept_ticket(\(settled), '610113-GOV', 'x')", logger: db.logger)
                try await client.execute("SELECT hotline.give_feedback(\(settled), '610113-GOV', 'x', '已协调路灯所维修', true)", logger: db.logger)
                try await client.execute("SELECT hotline.request_close(\(settled), '610113-GOV', 'x')", logger: db.logger)

                #expect(try await Self.scan(client, after: "10 days")["hard_tickets_listed"] == 0, "the district still has time")
                #expect(try await Self.scan(client, after: "16 days")["hard_tickets_listed"] == 1, "only the unsettled one")
                #expect(try await Self.scan(client, after: "17 days")["hard_tickets_listed"] == 0, "listed once")
                let month = try await client.first("""
                    SELECT to_char(date_trunc('month', (now() + interval '16 days') AT TIME ZONE 'Asia/Shanghai'), 'YYYY-MM-DD')
                    """, as: String.self, logger: db.logger)!
                let list = try await client.all("""
                    SELECT ticket_id, district FROM hotline.hard_ticket_list WHERE month = \(month)::date
                    """, as: (Int64, String?).self, logger: db.logger)
                #expect(list.map(\.0) == [hard])
                #expect(list.first?.1 == "雁塔区")
            }
        }
    }
}
