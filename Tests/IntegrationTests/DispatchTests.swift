@testable import AutoDispatch
@testable import IntakeExtraction
import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

/// Dispatch on the real database: the worker's rounds (assignments, SLA timers, SMS, linkage,
/// enterprise fast lane, dispatcher queue) and the units' SQL actions with their error codes.
@Suite("Dispatch and unit actions")
struct DispatchTests {
    static let sanitation = "城乡建设/城市建设和市政管理/环境卫生"
    static let streetlights = "城乡建设/城市建设和市政管理/基础设施"

    /// A ticket filled in as intake-extraction would, ready for dispatch (no caller phone unless
    /// given, so tickets are not linked to each other as repeat calls).
    static func extracted(_ client: PostgresClient, _ externalID: String, content: String = "小区门口垃圾堆了三天没人清运",
                          category: String? = sanitation, confidence: Double = 0.8, urgency: String = "normal",
                          street: String? = "小寨路街道", district: String? = "雁塔区", channel: String = "web",
                          enterprise: Bool = false, phone: String? = nil) async throws -> Int64 {
        let submitted = try await TicketIntakeTests.submit(client, channel: channel, externalID: externalID, content: content, phone: phone)
        _ = try await client.first("""
            SELECT outcome FROM hotline.record_extraction(
                \(submitted.id), (SELECT id FROM hotline.jurisdictions WHERE name = \(district) AND level <> 'street'),
                (SELECT id FROM hotline.jurisdictions WHERE name = \(street) AND level IN ('street', 'town')), NULL,
                \(category), \(urgency), \(enterprise), false, NULL, NULL, NULL,
                jsonb_build_object('category_confidence', \(confidence)::float8))
            """, as: String.self, logger: TestDatabase.logger)
        return submitted.id
    }

    static func dispatchWorker() throws -> Worker {
        var worker = try Worker(name: "auto-dispatch", queue: "auto-dispatch")
        let model = DispatchModel()
        let group = DispatchTicketHandler.group()
        try worker.register(DispatchTicket.self) { job, context in try await DispatchTicketHandler.run(job, context, model: model, group: group) }
        return worker
    }

    static func assignments(_ client: PostgresClient, _ ticket: Int64) async throws -> [String] {
        try await client.all("""
            SELECT u.code || ':' || a.role || ':' || a.status FROM hotline.assignments a JOIN hotline.handling_units u ON u.id = a.unit_id
             WHERE a.ticket_id = \(ticket) AND a.round = (SELECT dispatch_round FROM hotline.tickets WHERE id = \(ticket))
             ORDER BY a.id
            """, as: String.self, logger: TestDatabase.logger)
    }

    static func status(_ client: PostgresClient, _ ticket: Int64) async throws -> String? {
        try await client.first("SELECT status FROM hotline.tickets WHERE id = \(ticket)", as: String.self, logger: TestDatabase.logger)
    }

    @Test func theFleetTakesATicketFromSubmissionToItsUnitsWithTimersAndMessages() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                _ = try await IntakeFlowTests.loadCorpus(client, logger: db.logger)
            }
            var intake = try Worker(name: "intake-extraction", queue: "intake-extraction")
            let extraction = ExtractionModel()
            let group = ExtractTicketHandler.group()
            try intake.register(ExtractTicket.self) { job, context in
                try await ExtractTicketHandler.run(job, context, model: extraction, group: group)
            }
            try await withWorker(intake, on: db) { _ in
                try await withWorker(try Self.dispatchWorker(), on: db) { queue in
                    let client = queue.client
                    let ticket = try #require(try await client.first("""
                        SELECT ticket_id FROM hotline.submit_ticket('phone', 'e2e-1',
                            '雁塔区小寨路街道这边从昨天晚上就停水了，到现在还没来水，家里老人孩子都等着用水', '13800138000')
                        """, as: Int64.self, logger: db.logger))
                    try await eventually("ticket dispatched") { try await Self.status(client, ticket) == "dispatched" }
                    #expect(try await Self.assignments(client, ticket) == ["XA-WATER:lead:pending"], "a utility outage goes straight to the utility")
                    let timers = try await client.all("""
                        SELECT kind, round(extract(epoch FROM due_at - started_at) / 3600)::int FROM hotline.sla_timers
                         WHERE ticket_id = \(ticket) ORDER BY kind
                        """, as: (String, Int).self, logger: db.logger)
                    #expect(timers.map(\.0) == ["accept", "feedback"])
                    #expect(timers.map(\.1) == [1, 24], "accept within 1 hour, feedback within 24 hours for basic livelihood")
                    #expect(try await client.count("SELECT count(*)::int FROM hotline.sms_outbox WHERE ticket_id = \(ticket) AND template = 'dispatch.lead'") == 1)
                    let events = try await client.all(
                        "SELECT event FROM hotline.ticket_events WHERE ticket_id = \(ticket) ORDER BY seq", as: String.self, logger: db.logger)
                    #expect(events == ["received", "extracted", "dispatched"])
                    let intact = try await client.first("SELECT ok FROM hotline.verify_ticket_chain(\(ticket))", as: Bool.self, logger: db.logger)
                    #expect(intact == true)
                }
            }
        }
    }

    @Test func eachKindOfTicketReachesItsUnits() async throws {
        try await TestDatabase.with { db in
            try await withWorker(try Self.dispatchWorker(), on: db) { queue in
                let client = queue.client
                let street = try await Self.extracted(client, "k-street")
                let department = try await Self.extracted(client, "k-dept", content: "路灯坏了一个月", category: Self.streetlights)
                let fire = try await Self.extracted(client, "k-fire", content: "垃圾站着火了，烟很大", urgency: "emergency")
                let company = try await Self.extracted(client, "k-ent", content: "我公司门口的垃圾没人清运", enterprise: true)
                let unsure = try await Self.extracted(client, "k-low", confidence: 0.1)
                let unplaced = try await Self.extracted(client, "k-noplace", street: nil, district: nil)
                try await client.execute("""
                    INSERT INTO queue.jobs (queue, kind, payload)
                    SELECT 'auto-dispatch', 'ticket.dispatch', jsonb_build_object('ticket_id', id) FROM hotline.tickets WHERE status = 'extracted'
                    """, logger: db.logger)
                try await eventually("all placed") {
                    let waiting = try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'auto-dispatch' AND status <> 'dead'")
                    let queued = try await client.count("SELECT count(*)::int FROM hotline.dispatcher_queue")
                    let dispatched = try await client.count("SELECT count(*)::int FROM hotline.tickets WHERE status = 'dispatched'")
                    return waiting == 0 && queued == 2 && dispatched == 4
                }
                #expect(try await Self.assignments(client, street) == ["610113001-GOV:lead:pending", "610113-GOV:cc:informed"],
                        "the street leads, its district is cc'd")
                #expect(try await Self.assignments(client, department) == ["XA-CGJ:lead:pending", "610113-GOV:co_handler:pending"])
                let linkage = try await client.first("SELECT service FROM hotline.linkage_records WHERE ticket_id = \(fire)", as: String.self, logger: db.logger)
                #expect(linkage == "119")
                #expect(try await Self.assignments(client, company).contains("XA-ENT:cc:informed"))
                #expect(try await client.count("SELECT count(*)::int FROM hotline.enterprise_cases WHERE ticket_id = \(company)") == 1)
                let reasons = try await client.all("""
                    SELECT ticket_id, array_to_string(reasons, ',') FROM hotline.dispatcher_queue ORDER BY ticket_id
                    """, as: (Int64, String).self, logger: db.logger)
                #expect(reasons.map(\.0) == [unsure, unplaced])
                #expect(reasons.map(\.1) == ["low_confidence", "no_place"])
            }
        }
    }

    @Test func returnsRedispatchElsewhereAndRepeatedReturnsGoToADispatcher() async throws {
        try await TestDatabase.with { db in
            try await withWorker(try Self.dispatchWorker(), on: db) { queue in
                let client = queue.client
                let ticket = try await Self.extracted(client, "r-1", content: "路灯坏了一个月", category: Self.streetlights)
                _ = try await JobQueue(client: client, logger: db.logger).enqueue(
                    try NewJob(queue: "auto-dispatch", kind: "ticket.dispatch", payloadJSON: #"{"ticket_id":\#(ticket)}"#))
                try await eventually("dispatched") { try await Self.status(client, ticket) == "dispatched" }
                #expect(try await Self.assignments(client, ticket).first == "XA-CGJ:lead:pending")

                // First return: to the suggested unit, never back to the returning one.
                try await client.execute("""
                    SELECT hotline.return_ticket(\(ticket), 'XA-CGJ', '张科长', '路灯属供电公司资产', '《城市照明管理规定》第十条', 'XA-POWER')
                    """, logger: db.logger)
                try await eventually("re-dispatched") {
                    let status = try await Self.status(client, ticket)
                    let round = try await client.count("SELECT dispatch_round FROM hotline.tickets WHERE id = \(ticket)")
                    return status == "dispatched" && round == 2
                }
                let second = try await Self.assignments(client, ticket)
                #expect(second.first == "XA-POWER:lead:pending")
                #expect(!second.contains { $0.hasPrefix("XA-CGJ:") })

                // Second return: buck-passing, a dispatcher decides.
                try await client.execute("""
                    SELECT hotline.return_ticket(\(ticket), 'XA-POWER', '李工', '该路灯为市政照明', '资产移交清单', 'XA-CGJ')
                    """, logger: db.logger)
                try await eventually("queued for a dispatcher") {
                    try await client.count("SELECT count(*)::int FROM hotline.dispatcher_queue WHERE status = 'waiting'") == 1
                }
                let ledger = try await client.first("SELECT special_ledger FROM hotline.tickets WHERE id = \(ticket)", as: [String].self, logger: db.logger)
                #expect(ledger == ["buck_passing"])
                let why = try await client.first("SELECT array_to_string(reasons, ',') FROM hotline.dispatcher_queue", as: String.self, logger: db.logger)
                #expect(why == "buck_passing")

                // The dispatcher's decision dispatches it and becomes a training example.
                let round = try await client.first("""
                    SELECT hotline.dispatcher_decide(\(ticket), '调度员王', '城乡建设/城市建设和市政管理/城市公共设施', '610113-GOV', '{XA-CGJ,XA-POWER}')
                    """, as: Int.self, logger: db.logger)
                #expect(round == 3)
                #expect(try await Self.assignments(client, ticket) == ["610113-GOV:lead:pending", "XA-CGJ:co_handler:pending", "XA-POWER:co_handler:pending"])
                #expect(try await client.count("SELECT count(*)::int FROM hotline.labelled_texts WHERE source = 'dispatcher' AND ticket_id = \(ticket)") == 1)
                let queueStatus = try await client.first("SELECT status FROM hotline.dispatcher_queue", as: String.self, logger: db.logger)
                #expect(queueStatus == "decided")
            }
        }
    }

    @Test func duplicateDispatchJobsForOneTicketMakeOneRound() async throws {
        try await TestDatabase.with { db in
            let ticket = try await db.withClient { client async throws in
                let ticket = try await Self.extracted(client, "dup-1", content: "路灯坏了", category: Self.streetlights)
                try await client.execute("""
                    INSERT INTO queue.jobs (queue, kind, payload)
                    SELECT 'auto-dispatch', 'ticket.dispatch', jsonb_build_object('ticket_id', \(ticket)) FROM generate_series(1, 7)
                    """, logger: db.logger)
                return ticket
            }
            // Two worker runtimes with their own pools, as two processes would be.
            try await withWorker(try Self.dispatchWorker(), on: db, options: testOptions(concurrency: 8, batch: 4)) { first in
                try await withWorker(try Self.dispatchWorker(), on: db, options: testOptions(concurrency: 8, batch: 4)) { _ in
                    try await eventually("all jobs done") {
                        try await first.client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'auto-dispatch'") == 0
                    }
                }
                let client = first.client
                #expect(try await client.count("SELECT dispatch_round FROM hotline.tickets WHERE id = \(ticket)") == 1)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events WHERE ticket_id = \(ticket) AND event = 'dispatched'") == 1)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.assignments WHERE ticket_id = \(ticket)") == 2)
            }
        }
    }

    @Test func badJobsGoDeadAloneWhileTheirNeighboursAreDispatched() async throws {
        try await TestDatabase.with { db in
            // Everything is queued before the worker starts, so bad and good jobs are claimed together.
            try await db.withClient { client async throws in
                for index in 0..<6 { _ = try await Self.extracted(client, "n-\(index)", content: "路灯坏了", category: Self.streetlights) }
                // One job names a ticket that does not exist, one has a payload of the wrong shape.
                try await client.execute("""
                    INSERT INTO queue.jobs (queue, kind, payload) VALUES
                        ('auto-dispatch', 'ticket.dispatch', '{"ticket_id": 987654321}'),
                        ('auto-dispatch', 'ticket.dispatch', '{"ticket": "n-1"}')
                    """, logger: db.logger)
            }
            try await withWorker(try Self.dispatchWorker(), on: db, options: testOptions(concurrency: 8, batch: 8)) { queue in
                let client = queue.client
                try await eventually("good dispatched, bad dead") {
                    let dispatched = try await client.count("SELECT count(*)::int FROM hotline.tickets WHERE status = 'dispatched'")
                    let dead = try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'auto-dispatch' AND status = 'dead'")
                    return dispatched == 6 && dead == 2
                }
                let errors = try await client.all(
                    "SELECT errors::text FROM queue.jobs WHERE status = 'dead' ORDER BY id", as: String.self, logger: db.logger)
                #expect(errors.first?.contains("ticket 987654321 does not exist") == true, "\(errors)")
                #expect(errors.last?.contains("ticket_id") == true, "the decoding error names the missing field: \(errors)")
            }
        }
    }

    /// Dispatches a ticket directly through the SQL contract (no worker), for the action tests.
    static func dispatched(_ client: PostgresClient, _ externalID: String, lead: String = "XA-CGJ",
                           coHandlers: [String] = ["610113-GOV"]) async throws -> Int64 {
        let ticket = try await extracted(client, externalID, category: streetlights)
        let plan = #"{"lead":"\#(lead)","co_handlers":[\#(coHandlers.map { "\"\($0)\"" }.joined(separator: ","))],"cc":[]}"#
        _ = try await client.first("SELECT hotline.record_dispatch(\(ticket), 'person', 'test', \(plan)::jsonb)", as: Int.self, logger: TestDatabase.logger)
        return ticket
    }

    @Test func aTicketIsAcceptedWhistledAnsweredAndClosed() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.dispatched(client, "a-1")
                try await client.execute("SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', '张科长')", logger: db.logger)
                #expect(try await Self.status(client, ticket) == "accepted")
                #expect(try await client.count("""
                    SELECT count(*)::int FROM hotline.sla_timers t JOIN hotline.assignments a ON a.id = t.assignment_id
                     JOIN hotline.handling_units u ON u.id = a.unit_id WHERE u.code = 'XA-CGJ' AND t.kind = 'accept' AND t.status = 'met'
                    """) == 1)
                #expect(try await client.count("SELECT hotline.whistle(\(ticket), 'XA-CGJ', '张科长', '{XA-POWER,XA-ZJJ}', '涉及供电线路和道路改造')") == 2)
                try await client.execute("SELECT hotline.accept_ticket(\(ticket), 'XA-POWER', '李工')", logger: db.logger)
                try await client.execute("SELECT hotline.give_feedback(\(ticket), 'XA-CGJ', '张科长', '已更换灯具，恢复照明', true)", logger: db.logger)
                #expect(try await Self.status(client, ticket) == "feedback_given")
                try await client.execute("SELECT hotline.request_close(\(ticket), 'XA-CGJ', '张科长')", logger: db.logger)
                #expect(try await Self.status(client, ticket) == "closed")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sla_timers WHERE ticket_id = \(ticket) AND status = 'running'") == 0)
                let events = try await client.all(
                    "SELECT event FROM hotline.ticket_events WHERE ticket_id = \(ticket) ORDER BY seq", as: String.self, logger: db.logger)
                #expect(events == ["received", "extracted", "dispatched", "accepted", "whistled", "accepted", "feedback_given", "closed"])
            }
        }
    }

    @Test(arguments: [
        ("HL061", "SELECT hotline.accept_ticket($T, 'XA-ZJJ', 'x')", "accepting a ticket not assigned to the unit"),
        ("HL062", "SELECT hotline.accept_ticket($T, 'XA-CGJ', 'x'); SELECT hotline.accept_ticket($T, 'XA-CGJ', 'x')", "a double accept"),
        ("HL064", "SELECT hotline.return_ticket($T, 'XA-CGJ', 'x', '', '依据', 'XA-ZJJ')", "a return without reason"),
        ("HL064", "SELECT hotline.return_ticket($T, 'XA-CGJ', 'x', '理由', NULL, 'XA-ZJJ')", "a return without basis"),
        ("HL064", "SELECT hotline.return_ticket($T, 'XA-CGJ', 'x', '理由', '依据', NULL)", "a return without a suggested unit"),
        ("HL066", "SELECT hotline.return_ticket($T, 'XA-CGJ', 'x', '理由', '依据', 'NOPE')", "a return suggesting an unknown unit"),
        ("HL067", "SELECT hotline.return_ticket($T, 'XA-CGJ', 'x', '理由', '依据', 'XA-CGJ')", "a return suggesting itself"),
        ("HL068", "SELECT hotline.accept_ticket($T, 'XA-CGJ', 'x'); SELECT hotline.return_ticket($T, 'XA-CGJ', 'x', '理由', '依据', 'XA-ZJJ')", "a return after accepting"),
        ("HL069", "SELECT hotline.accept_ticket($T, '610113-GOV', 'x'); SELECT hotline.give_feedback($T, '610113-GOV', 'x', '结果', true)", "feedback by a co-handler"),
        ("HL070", "SELECT hotline.give_feedback($T, 'XA-CGJ', 'x', '结果', true)", "feedback before accepting"),
        ("HL070", "SELECT hotline.accept_ticket($T, 'XA-CGJ', 'x'); SELECT hotline.request_close($T, 'XA-CGJ', 'x')", "closing without feedback"),
        ("HL063", "SELECT hotline.accept_ticket($T, 'XA-CGJ', 'x'); SELECT hotline.give_feedback($T, 'XA-CGJ', 'x', '结果', true); SELECT hotline.request_close($T, 'XA-CGJ', 'x'); SELECT hotline.accept_ticket($T, '610113-GOV', 'x')", "acting on a closed ticket"),
        ("HL069", "SELECT hotline.whistle($T, 'XA-CGJ', 'x', '{XA-ZJJ}', '原因')", "whistling before accepting"),
        ("HL072", "SELECT hotline.dispatcher_decide($T, 'p', '城乡建设/城市建设和市政管理/基础设施', 'XA-CGJ')", "deciding a ticket nobody queued"),
        ("HL063", "SELECT hotline.record_dispatch($T, 'person', 'p', '{\"lead\":\"XA-CGJ\"}')", "dispatching a ticket twice"),
        ("HL073", "SELECT hotline.take_self_reported($T, 'XA-CGJ', 'x')", "taking a ticket that was not self-reported"),
        ("HL040", "SELECT hotline.accept_ticket(999999, 'XA-CGJ', 'x')", "an unknown ticket"),
        ("HL071", #"SELECT * FROM hotline.record_dispatches('w', '{"job_id": 1}')"#, "a group's decisions that are not an array"),
        ("HL071", #"SELECT * FROM hotline.record_dispatches('w', '[{"job_id": 1, "ticket_id": $T, "action": "dispatch"}]')"#, "a decision without the version read"),
        ("HL071", #"SELECT * FROM hotline.record_dispatches('w', '[{"job_id": 1, "action": "promote"}]')"#, "a decision of an unknown kind"),
        ("QL001", #"SELECT * FROM hotline.record_dispatches('nobody', '[{"job_id": 424242, "action": "skip"}]')"#, "a group write without the job's lease"),
        ("HL046", #"SELECT * FROM hotline.record_extractions('w', '{}', '{"ticket_id": $T}')"#, "extraction records that are not an array"),
        ("HL046", #"SELECT * FROM hotline.record_extractions('w', '{}', '[{"ticket": $T}]')"#, "an extraction record without a ticket id"),
    ])
    func badActionsAreRejectedAndChangeNothing(code: String, sql: String, what: String) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.dispatched(client, "bad-1")
                try await expectRefused(client, sql, ticket: ticket, code: code, what: what)
            }
        }
    }

    /// The group write checks what the worker read: a ticket whose row changed since (here an
    /// operator's correction), or that now waits for a dispatcher, is 'stale' — nothing written,
    /// its job still held for the worker to read and plan again. With the current version it is
    /// dispatched and its job completes in the same transaction.
    @Test func aGroupWriteRefusesATicketThatChangedSinceItsRead() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.extracted(client, "stale-1", content: "路灯坏了", category: Self.streetlights)
                let other = try await Self.extracted(client, "stale-2", content: "路灯不亮", category: Self.streetlights)
                let jobs = Dictionary(uniqueKeysWithValues: try await client.all("""
                    SELECT (payload::jsonb->>'ticket_id')::bigint, id FROM queue.claim('auto-dispatch', 'w', 10, 60)
                    """, as: (Int64, Int64).self, logger: db.logger))
                let job = try #require(jobs[ticket])
                let otherJob = try #require(jobs[other])
                func version(_ id: Int64) async throws -> String {
                    try await client.first("SELECT version FROM hotline.read_for_dispatch(\([id])::bigint[])", as: String.self, logger: db.logger) ?? ""
                }
                func write(_ job: Int64, _ id: Int64, _ version: String) async throws -> (outcomes: [String], wakeups: [String]) {
                    let decision = #"[{"job_id": \#(job), "ticket_id": \#(id), "version": "\#(version)", "action": "dispatch", "plan": {"lead": "XA-CGJ"}}]"#
                    let row = try await client.first("SELECT outcomes, wakeups FROM hotline.record_dispatches('w', \(decision)::jsonb)",
                                                     as: ([String], [String]).self, logger: db.logger)
                    return (row?.0 ?? [], row?.1 ?? [])
                }
                let read = try await version(ticket)
                try await client.execute("UPDATE hotline.tickets SET address = '小寨东路口' WHERE id = \(ticket)", logger: db.logger)
                #expect(try await write(job, ticket, read).outcomes == ["stale"])
                #expect(try await Self.status(client, ticket) == "extracted")
                #expect(try await Self.assignments(client, ticket) == [])
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE id = \(job) AND status = 'running'") == 1,
                        "a stale ticket's job is still held")

                let written = try await write(job, ticket, try await version(ticket))
                #expect(written.outcomes == ["dispatched"])
                #expect(written.wakeups.contains("hotline.sms_outbox"), "the round's messages wake sms-notify after the commit: \(written.wakeups)")
                #expect(try await Self.status(client, ticket) == "dispatched")
                #expect(try await client.count("SELECT count(*)::int FROM queue.finished_jobs WHERE id = \(job)") == 1)

                // Waiting for a dispatcher since the read: stale even with the row's current version.
                try await client.execute("SELECT hotline.queue_for_dispatcher(\(other), '{low_confidence}', '[]')", logger: db.logger)
                #expect(try await write(otherJob, other, try await version(other)).outcomes == ["stale"])
                #expect(try await Self.assignments(client, other) == [])
            }
        }
    }

    @Test func concurrentAcceptAndReturnLeaveOneConsistentResult() async throws {
        try await TestDatabase.with { db in
            try await db.withClient(maximumConnections: 8) { client async throws in
                for round in 0..<6 {
                    let ticket = try await Self.dispatched(client, "race-\(round)")
                    let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                        group.addTask {
                            do { try await client.execute("SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', 'a')", logger: db.logger); return "accepted" }
                            catch let error as DatabaseError { return error.sqlState ?? "?" }
                        }
                        group.addTask {
                            do {
                                try await client.execute("SELECT hotline.return_ticket(\(ticket), 'XA-CGJ', 'b', '理由', '依据', 'XA-ZJJ')", logger: db.logger)
                                return "returned"
                            } catch let error as DatabaseError { return error.sqlState ?? "?" }
                        }
                        group.addTask {
                            do { try await client.execute("SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', 'c')", logger: db.logger); return "accepted" }
                            catch let error as DatabaseError { return error.sqlState ?? "?" }
                        }
                        return try await group.reduce(into: [String]()) { $0.append($1) }
                    }
                    let winners = outcomes.filter { $0 == "accepted" || $0 == "returned" }
                    #expect(winners.count == 1, "exactly one action wins: \(outcomes)")
                    let status = try await Self.status(client, ticket)
                    #expect(status == (winners.first == "accepted" ? "accepted" : "returned"))
                    #expect(try await client.count("""
                        SELECT count(*)::int FROM hotline.ticket_events WHERE ticket_id = \(ticket) AND event IN ('accepted', 'returned')
                        """) == 1)
                    let intact = try await client.first("SELECT ok FROM hotline.verify_ticket_chain(\(ticket))", as: Bool.self, logger: db.logger)
                    #expect(intact == true)
                }
            }
        }
    }

    @Test func aSelfReportedTicketIsTakenByItsOwnUnit() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.extracted(client, "self-1", content: "网格员巡查发现小区围墙破损", channel: "self_report")
                #expect(try await client.count("SELECT hotline.take_self_reported(\(ticket), '610113001-GOV', '网格员刘')") == 1)
                #expect(try await Self.assignments(client, ticket) == ["610113001-GOV:lead:pending"])
                #expect(try await Self.status(client, ticket) == "dispatched")
            }
        }
    }
}
