@testable import AutoDispatch
@testable import Escalation
import Foundation
@testable import IntakeExtraction
import Logging
import PostgresNIO
@testable import SLATimer
@testable import SMSNotify
@testable import SatisfactionCallback
import Shared
import Testing

/// The roles of `sql/0016_roles.sql`, proven with real logins: each may do its work and is
/// refused (42501) what it must not do.
@Suite("Roles")
struct RoleTests {
    /// A login user in `role` for this test (roles are per cluster: a unique name, dropped after).
    static func withLogin<R: Sendable>(_ role: String, on db: TestDatabase, _ body: (TestDatabase, String) async throws -> R) async throws -> R {
        let user = "u_\(role.replacingOccurrences(of: "hotline_", with: ""))_\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        let server = try TestDatabase.serverURL()
        try await Admin.run(on: server, "CREATE ROLE \(user) LOGIN IN ROLE \(role)")
        var url = db.url
        url.username = user
        do {
            let result = try await body(TestDatabase(url: url, name: db.name, logger: db.logger), user)
            try await Admin.run(on: server, "DROP ROLE \(user)")
            return result
        } catch {
            try? await Admin.run(on: server, "DROP ROLE \(user)")
            throw error
        }
    }

    /// Runs `sql` as the login; returns the SQLSTATE it failed with, or nil.
    static func refusal(_ sql: String, as login: TestDatabase) async throws -> String? {
        do {
            try await Admin.withConnection(on: login.url) { connection in
                try await connection.execute(PostgresQuery(unsafeSQL: sql), logger: login.logger)
            }
            return nil
        } catch let error as DatabaseError {
            return error.sqlState
        }
    }

    @Test func aChannelSubmitsAsItselfAndSeesOnlyItsOwnTickets() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                _ = try await TicketIntakeTests.submit(client, channel: "web", externalID: "other-channel", content: "别的渠道的工单", phone: "13800138000")
            }
            try await Self.withLogin("hotline_channel", on: db) { login, user async throws in
                #expect(try await Self.refusal("SELECT * FROM hotline.channel_submit('w-1', '路灯不亮')", as: login) == "HL009",
                        "a login that is no channel account")
                try await db.withClient { client async throws in
                    try await client.execute(PostgresQuery(unsafeSQL: "INSERT INTO hotline.channel_accounts VALUES ('\(user)', 'wechat')"), logger: db.logger)
                }
                #expect(try await Self.refusal("SELECT * FROM hotline.channel_submit('w-1', '小寨路的路灯不亮了')", as: login) == nil)
                let mine = try await Admin.withConnection(on: login.url) { connection in
                    try await connection.all("SELECT external_id || ':' || channel FROM hotline.my_submissions", as: String.self, logger: db.logger)
                }
                #expect(mine == ["w-1:wechat"], "its own ticket, not the web channel's")
                for forbidden in ["SELECT * FROM hotline.tickets", "SELECT * FROM hotline.submit_ticket('web', 'spoof', '冒充别的渠道')",
                                  "SELECT * FROM queue.jobs", "SELECT * FROM hotline.tickets_masked", "SELECT * FROM hotline.sla_outcomes()",
                                  "SELECT hotline.accept_ticket(1, 'XA-CGJ', 'x')", "UPDATE hotline.channel_accounts SET channel = 'web'"] {
                    #expect(try await Self.refusal(forbidden, as: login) == "42501", "\(forbidden)")
                }
            }
        }
    }

    @Test func anAnalystReadsViewsWithMaskedNumbersButNoTable() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                _ = try await TicketIntakeTests.submit(client, externalID: "masked", content: "噪音扰民", phone: "13812345678")
            }
            try await Self.withLogin("hotline_analyst", on: db) { login, _ async throws in
                let phones = try await Admin.withConnection(on: login.url) { connection in
                    try await connection.all("SELECT caller_phone FROM hotline.tickets_masked", as: String?.self, logger: db.logger)
                }
                #expect(phones == ["138****5678"])
                #expect(try await Self.refusal("SELECT * FROM hotline.unit_evaluation", as: login) == nil)
                #expect(try await Self.refusal("SELECT * FROM hotline.daily_intake", as: login) == nil)
                #expect(try await Self.refusal("SELECT * FROM hotline.sla_outcomes()", as: login) == nil, "the breach rate is for analysts too")
                for forbidden in ["SELECT caller_phone FROM hotline.tickets", "SELECT * FROM hotline.ticket_events", "SELECT * FROM hotline.sms_outbox",
                                  "SELECT hotline.record_callback(1, true, 'satisfied', 'x', 'x')", "DELETE FROM queue.jobs"] {
                    #expect(try await Self.refusal(forbidden, as: login) == "42501", "\(forbidden)")
                }
            }
        }
    }

    @Test func aUnitActsOnTicketsButReadsAndTimesNothingElse() async throws {
        try await TestDatabase.with { db in
            let ticket = try await db.withClient { client async throws in try await DispatchTests.dispatched(client, "unit-role") }
            try await Self.withLogin("hotline_unit", on: db) { login, user async throws in
                try await Self.bind(user, to: ["XA-CGJ"], on: db)   // a unit login acts for the units it is bound to (sql/0018)
                #expect(try await Self.refusal("SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', '张科长')", as: login) == nil)
                for forbidden in ["SELECT * FROM hotline.tickets", "SELECT * FROM hotline.fire_sla_timers(now(), 10)",
                                  "SELECT hotline.dispatcher_decide(\(ticket), 'p', 'x', 'XA-CGJ')", "INSERT INTO hotline.assignments (ticket_id) VALUES (1)"] {
                    #expect(try await Self.refusal(forbidden, as: login) == "42501", "\(forbidden)")
                }
            }
        }
    }

    /// Every function that may read or write a table runs as its owner with a fixed search_path
    /// (sql/0016); the IMMUTABLE helpers, which read none, run as their caller so that PostgreSQL
    /// can inline the SQL ones (sql/0028), and all stay closed to PUBLIC.
    @Test func onlyPureHelpersRunAsTheirCaller() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let functions = try await client.all("""
                    SELECT p.oid::regprocedure::text, p.provolatile = 'i', p.prosecdef,
                           coalesce('search_path=hotline, queue, pg_catalog, pg_temp' = ANY (p.proconfig), false),
                           has_function_privilege('public', p.oid, 'EXECUTE')
                      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname IN ('hotline', 'queue') AND p.prokind = 'f'
                    """, as: (String, Bool, Bool, Bool, Bool).self, logger: db.logger)
                #expect(functions.count > 100)
                let pure = functions.filter(\.1)
                #expect(pure.map(\.0).contains("queue.wake_channel(text)"))
                #expect(pure.map(\.0).contains("hotline.normalize_phone(text)"))
                for (name, immutable, definer, fixedPath, publicExecute) in functions {
                    #expect(definer == !immutable && fixedPath == !immutable, "\(name): definer \(definer), fixed search_path \(fixedPath)")
                    #expect(!publicExecute, "\(name) is open to PUBLIC")
                }
                // Inlined: the plan computes the channel name itself instead of calling the function.
                let plan = try await client.all("EXPLAIN (VERBOSE, COSTS OFF) SELECT queue.wake_channel(q.name) FROM queue.queues q",
                                                as: String.self, logger: db.logger).joined(separator: "\n")
                #expect(plan.contains("md5") && !plan.contains("wake_channel"), "\(plan)")
                let names = try await client.first("SELECT queue.wake_channel('hotline.sms_outbox'), queue.wake_channel(repeat('x', 60)), queue.wake_channel(NULL)",
                                                   as: (String, String, String?).self, logger: db.logger)
                #expect(names?.0 == "queue_jobs.hotline.sms_outbox")
                #expect(names?.1 == "queue_jobs." + "1198000c11968f9368e02d6da57ec147")
                #expect(names?.2 == nil)
            }
        }
    }

    /// Binds a login to unit codes (hotline.unit_accounts), as a deployment does.
    static func bind(_ user: String, to units: [String], on db: TestDatabase) async throws {
        try await db.withClient { client async throws in
            try await client.execute("""
                INSERT INTO hotline.unit_accounts (role_name, unit_code) SELECT \(user), unnest(\(units)::text[])
                """, logger: db.logger)
        }
    }

    /// Rows a login reads with `sql`.
    static func read(_ sql: String, as login: TestDatabase) async throws -> [String] {
        try await Admin.withConnection(on: login.url) { connection in
            try await connection.all(PostgresQuery(unsafeSQL: sql), as: String.self, logger: login.logger)
        }
    }

    /// Two unit logins, each bound to its own unit: each acts and reads for its unit only; an
    /// unbound unit login acts for no unit; the superuser still acts for any.
    @Test func aUnitLoginActsAndReadsOnlyForItsOwnUnit() async throws {
        try await TestDatabase.with { db in
            let (mine, theirs) = try await db.withClient { client async throws -> (Int64, Int64) in
                (try await DispatchTests.dispatched(client, "bound-cgj", lead: "XA-CGJ", coHandlers: ["610113-GOV"]),
                 try await DispatchTests.dispatched(client, "bound-zjj", lead: "XA-ZJJ", coHandlers: []))
            }
            try await Self.withLogin("hotline_unit", on: db) { cgj, cgjUser async throws in
                try await Self.withLogin("hotline_unit", on: db) { zjj, zjjUser async throws in
                    #expect(try await Self.refusal("SELECT hotline.accept_ticket(\(mine), 'XA-CGJ', '张科长')", as: cgj) == "HL074",
                            "a unit login bound to no unit acts for none")
                    #expect(try await Self.read("SELECT ticket_no FROM hotline.my_tickets", as: cgj).isEmpty)
                    try await Self.bind(cgjUser, to: ["XA-CGJ"], on: db)
                    try await Self.bind(zjjUser, to: ["XA-ZJJ"], on: db)

                    #expect(try await Self.refusal("SELECT hotline.accept_ticket(\(mine), 'XA-CGJ', '冒名者')", as: zjj) == "HL074",
                            "XA-ZJJ's login cannot act for XA-CGJ")
                    #expect(try await Self.refusal("SELECT hotline.accept_ticket(\(mine), 'XA-ZJJ', '李科长')", as: zjj) == "HL061",
                            "its own unit, but the ticket is not assigned to it")
                    #expect(try await Self.refusal("SELECT hotline.accept_ticket(\(mine), 'XA-CGJ', '张科长')", as: cgj) == nil)
                    #expect(try await Self.refusal("SELECT hotline.accept_ticket(\(theirs), 'XA-ZJJ', '李科长')", as: zjj) == nil)

                    let numbers = try await db.withClient { client async throws in
                        try await client.all("SELECT ticket_no FROM hotline.tickets WHERE id IN (\(mine), \(theirs)) ORDER BY id",
                                             as: String.self, logger: db.logger)
                    }
                    #expect(try await Self.read("SELECT ticket_no FROM hotline.my_tickets", as: cgj) == [numbers[0]])
                    #expect(try await Self.read("SELECT ticket_no FROM hotline.my_tickets", as: zjj) == [numbers[1]])
                    #expect(try await Self.read("SELECT ticket_no FROM hotline.my_tickets WHERE ticket_id = \(mine)", as: zjj).isEmpty,
                            "asking for another unit's ticket by id shows nothing")
                    #expect(try await Self.read("SELECT unit || ':' || role || ':' || status FROM hotline.my_assignments", as: cgj)
                            == ["XA-CGJ:lead:accepted"], "its own part, not the co-handler's")
                    #expect(try await Self.read("SELECT content FROM hotline.my_tickets", as: cgj).first?.isEmpty == false,
                            "the unit reads what it must handle")
                    for forbidden in ["SELECT * FROM hotline.tickets", "SELECT * FROM hotline.ticket_events", "SELECT * FROM hotline.assignments",
                                      "SELECT * FROM hotline.unit_accounts", "INSERT INTO hotline.unit_accounts VALUES (current_user, 'XA-CGJ')",
                                      "SELECT * FROM hotline.tickets_masked", "SELECT * FROM hotline.open_assignments"] {
                        #expect(try await Self.refusal(forbidden, as: zjj) == "42501", "\(forbidden)")
                    }
                }
            }
            try await db.withClient { client async throws in
                // The superuser (ops, the fleet's tools) is bound to nothing and still acts for any unit.
                try await client.execute("SELECT hotline.accept_ticket(\(mine), '610113-GOV', '区政府值班员')", logger: db.logger)
            }
        }
    }

    /// Every unit action refuses a unit the login is not bound to, with HL074 and nothing written;
    /// a login bound to several units acts for each of them.
    @Test func everyUnitActionRefusesAnotherUnitsCode() async throws {
        try await TestDatabase.with { db in
            let (ticket, selfReported) = try await db.withClient { client async throws -> (Int64, Int64) in
                let ticket = try await DispatchTests.dispatched(client, "foreign-all", lead: "XA-CGJ", coHandlers: ["610113-GOV"])
                try await client.execute("SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', '张科长')", logger: db.logger)
                let reported = try await DispatchTests.extracted(client, "foreign-self", content: "网格员巡查发现小区围墙破损", channel: "self_report")
                return (ticket, reported)
            }
            try await Self.withLogin("hotline_unit", on: db) { login, user async throws in
                try await Self.bind(user, to: ["XA-ZJJ", "610113001-GOV"], on: db)
                let calls = [
                    "SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', 'x')",
                    "SELECT hotline.return_ticket(\(ticket), 'XA-CGJ', 'x', '不属于本单位', '职责清单', 'XA-ZJJ')",
                    "SELECT hotline.whistle(\(ticket), 'XA-CGJ', 'x', '{XA-ZJJ}', '协同')",
                    "SELECT hotline.give_feedback(\(ticket), 'XA-CGJ', 'x', '已处理', true)",
                    "SELECT hotline.request_close(\(ticket), 'XA-CGJ', 'x')",
                    "SELECT hotline.pause_ticket(\(ticket), 'XA-CGJ', 'x', '等待材料')",
                    "SELECT hotline.resume_ticket(\(ticket), 'XA-CGJ', 'x')",
                    "SELECT hotline.take_self_reported(\(selfReported), 'XA-CGJ', 'x')",
                ]
                let before = try await db.withClient { client async throws in
                    try await client.count("SELECT (SELECT count(*) FROM hotline.ticket_events)::int + (SELECT count(*) FROM hotline.assignments)::int")
                }
                for call in calls {
                    #expect(try await Self.refusal(call, as: login) == "HL074", "\(call)")
                }
                try await db.withClient { client async throws in
                    #expect(try await client.count("SELECT (SELECT count(*) FROM hotline.ticket_events)::int + (SELECT count(*) FROM hotline.assignments)::int")
                            == before, "nothing written")
                }
                // Bound to two units: it acts for the second one too.
                #expect(try await Self.refusal("SELECT hotline.take_self_reported(\(selfReported), '610113001-GOV', '网格员刘')", as: login) == nil)
                #expect(try await Self.read("SELECT unit || ':' || role FROM hotline.my_assignments", as: login) == ["610113001-GOV:lead"])
            }
        }
    }

    /// SMS-notify and satisfaction-callback as logins of their roles: the sender sends the
    /// outbox; the callback worker sends the survey and reads the reply.
    @Test func theSenderAndTheCallbackWorkerWorkUnderTheirRoles() async throws {
        try await TestDatabase.with { db in
            let ticket = try await db.withClient { client async throws -> Int64 in
                try await CallbackTests.immediateCallbacks(client)
                return try await CallbackTests.closed(client, "role-cb", phone: "13900000061")
            }
            try await Self.withLogin("hotline_callback", on: db) { login, _ async throws in
                try await withWorker(try CallbackTests.callbackWorker(), on: login) { _ in
                    try await db.withClient { client async throws in
                        try await eventually("survey sent by the callback role", timeout: .seconds(60)) {
                            try await CallbackTests.surveys(client, ticket) == ["1:sent:-:-"]
                        }
                        try await CallbackTests.reply(client, "13900000061", "满意")
                        try await eventually("reply read by the callback role", timeout: .seconds(60)) {
                            try await CallbackTests.surveys(client, ticket) == ["1:answered:-:satisfied"]
                        }
                    }
                }
            }
            try await Self.withLogin("hotline_sms", on: db) { login, _ async throws in
                let sink = FileManager.default.temporaryDirectory.appendingPathComponent("role-sms-\(UUID().uuidString).jsonl").path
                defer { try? FileManager.default.removeItem(atPath: sink) }
                let sender = OutboxSender(owner: "role-sender", gateway: try FileSinkGateway(path: sink), links: SMSNotifyTests.links)
                try await login.withClient { client async throws in
                    _ = try await sender.step(client, db.logger)
                }
                try await db.withClient { client async throws in
                    #expect(try await client.count("SELECT count(*)::int FROM hotline.sms_outbox WHERE status = 'sent'") > 0)
                    #expect(try await client.count("SELECT count(*)::int FROM hotline.sms_outbox WHERE status IN ('pending', 'sending')") == 0)
                }
                #expect(try await Self.refusal("SELECT * FROM hotline.sms_outbox", as: login) == "42501", "the sender reads no table")
            }
        }
    }

    /// The real intake-extraction and auto-dispatch workers, each connected as a login of its own
    /// role, take a ticket from submission to its unit; the SLA and escalation roles do their calls.
    @Test func eachWorkerDoesItsJobUnderItsOwnRole() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                _ = try await IntakeFlowTests.loadCorpus(client, logger: db.logger)
            }
            var intake = try Worker(name: "intake-extraction", queue: "intake-extraction")
            let model = ExtractionModel()
            let group = ExtractTicketHandler.group()
            try intake.register(ExtractTicket.self) { job, context in try await ExtractTicketHandler.run(job, context, model: model, group: group) }
            try await Self.withLogin("hotline_intake", on: db) { intakeLogin, _ async throws in
                try await Self.withLogin("hotline_dispatch", on: db) { dispatchLogin, _ async throws in
                    try await withWorker(intake, on: intakeLogin) { _ in
                        try await withWorker(try DispatchTests.dispatchWorker(), on: dispatchLogin) { _ in
                            try await db.withClient { client async throws in
                                let ticket = try #require(try await client.first("""
                                    SELECT ticket_id FROM hotline.submit_ticket('phone', 'role-e2e', '雁塔区小寨路街道这边从昨天晚上就停水了，到现在还没来水', '13800138011')
                                    """, as: Int64.self, logger: db.logger))
                                try await eventually("dispatched by workers in their roles", timeout: .seconds(60)) {
                                    try await DispatchTests.status(client, ticket) == "dispatched"
                                }
                            }
                        }
                    }
                }
            }
            try await Self.withLogin("hotline_sla", on: db) { login, _ async throws in
                #expect(try await Self.refusal("SELECT * FROM hotline.fire_sla_timers(now() + interval '3 hours', 100)", as: login) == nil)
                #expect(try await Self.refusal("SELECT * FROM hotline.claim_sms('x', 1, 30)", as: login) == "42501")
            }
            try await Self.withLogin("hotline_escalation", on: db) { login, _ async throws in
                #expect(try await Self.refusal("SELECT * FROM hotline.scan_escalations(now(), 10)", as: login) == nil)
                #expect(try await Self.refusal("SELECT * FROM hotline.tickets", as: login) == "42501")
            }
            try await db.withClient { client async throws in
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events WHERE event = 'sla_warning'") > 0,
                        "the SLA role's firing wrote its events")
            }
        }
    }
}
