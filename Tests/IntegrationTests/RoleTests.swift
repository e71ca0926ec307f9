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
                                  "SELECT * FROM queue.jobs", "SELECT * FROM hotline.tickets_masked",
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
            try await Self.withLogin("hotline_unit", on: db) { login, _ async throws in
                #expect(try await Self.refusal("SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', '张科长')", as: login) == nil)
                for forbidden in ["SELECT * FROM hotline.tickets", "SELECT * FROM hotline.fire_sla_timers(now(), 10)",
                                  "SELECT hotline.dispatcher_decide(\(ticket), 'p', 'x', 'XA-CGJ')", "INSERT INTO hotline.assignments (ticket_id) VALUES (1)"] {
                    #expect(try await Self.refusal(forbidden, as: login) == "42501", "\(forbidden)")
                }
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
