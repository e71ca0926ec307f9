import Foundation
import PostgresNIO
import Shared
import Testing

/// The `hotline` admin command as ops run it: a real process against a test database.
@Suite("Admin command")
struct AdminCommandTests {
    /// Runs `hotline args…`; returns its exit code and output.
    static func hotline(_ arguments: [String], database: DatabaseURL) async throws -> (status: Int32?, output: String) {
        let executable = ProbeProcess.productsDirectory.appendingPathComponent("hotline").path
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = database.urlString
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("hotline-\(UUID().uuidString).log").path
        let child = try ChildProcess(executable: executable, arguments: arguments, environment: environment, outputPath: log)
        let ended = await child.wait(timeout: .seconds(60))
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: log)
        if case .exited(let code)? = ended { return (code, output) }
        return (nil, output)
    }

    @Test func aDispatcherListsTheQueueAndPlacesATicket() async throws {
        try await TestDatabase.with { db in
            let ticket = try await db.withClient { client async throws -> Int64 in
                let ticket = try await DispatchTests.extracted(client, "cli-1", content: "小区与相邻单位之间的围墙倒塌，两家都说不归自己管")
                try await client.execute("""
                    SELECT hotline.queue_for_dispatcher(\(ticket), '{unclear_responsibility}', '[{"unit": "610113-GOV", "score": 0.61}]')
                    """, logger: db.logger)
                return ticket
            }
            let listed = try await Self.hotline(["dispatcher"], database: db.url)
            #expect(listed.status == 0)
            #expect(listed.output.contains("unclear_responsibility") && listed.output.contains("610113-GOV 0.61"), "\(listed.output)")

            let refused = try await Self.hotline(["dispatcher", "--decide", "\(ticket)", "--lead", "610113-GOV"], database: db.url)
            #expect(refused.status != 0 && refused.output.contains("--decide needs --category, --lead and --person"), "\(refused.output)")

            let placed = try await Self.hotline(["dispatcher", "--decide", "\(ticket)", "--category", DispatchTests.streetlights,
                                                 "--lead", "610113-GOV", "--person", "调度员小李"], database: db.url)
            #expect(placed.status == 0, "\(placed.output)")
            try await db.withClient { client async throws in
                #expect(try await DispatchTests.assignments(client, ticket) == ["610113-GOV:lead:pending"])
                #expect(try await client.count("SELECT count(*)::int FROM hotline.labelled_texts WHERE source = 'dispatcher'") == 1)
            }
            let again = try await Self.hotline(["dispatcher", "--decide", "\(ticket)", "--category", DispatchTests.streetlights,
                                                "--lead", "610113-GOV", "--person", "调度员小李"], database: db.url)
            #expect(again.status != 0 && again.output.contains("HL072"), "deciding twice is refused: \(again.output)")
        }
    }

    @Test func escalationsShowsTheOpenOnesAndTheMonthsHardTickets() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await SLATimerTests.dispatch(client, "cli-2")
                _ = try await client.first("SELECT hotline.open_escalation(\(ticket), 'unsatisfied', 1, '{}', 'test')", as: Int64.self, logger: db.logger)
            }
            let shown = try await Self.hotline(["escalations"], database: db.url)
            #expect(shown.status == 0)
            #expect(shown.output.contains("群众不满意") && shown.output.contains("610100-GOV,XA-DCS"), "\(shown.output)")
            let bad = try await Self.hotline(["escalations", "--month", "2026-13"], database: db.url)
            #expect(bad.status != 0 && bad.output.contains("--month must look like 2026-11"))
        }
    }

    /// `hotline replay`: the history in order with the chain verified; a tampered event makes
    /// it name the break and exit 3; bad or unknown tickets are refused.
    @Test func replayShowsTheHistoryAndFindsABrokenChain() async throws {
        try await TestDatabase.with { db in
            let (ticket, number) = try await db.withClient { client async throws -> (Int64, String) in
                let ticket = try await DispatchTests.dispatched(client, "replay-1")
                try await client.execute("SELECT hotline.accept_ticket(\(ticket), 'XA-CGJ', '张科长')", logger: db.logger)
                try await client.execute("SELECT hotline.give_feedback(\(ticket), 'XA-CGJ', '张科长', '路灯已修复', true)", logger: db.logger)
                let number = try await client.first("SELECT ticket_no FROM hotline.tickets WHERE id = \(ticket)", as: String.self, logger: db.logger)
                return (ticket, number ?? "")
            }
            for key in ["\(ticket)", number] {
                let shown = try await Self.hotline(["replay", key], database: db.url)
                #expect(shown.status == 0, "\(shown.output)")
                let order = ["received", "extracted", "dispatched", "accepted", "feedback_given"].map { shown.output.range(of: " \($0) ")?.lowerBound }
                #expect(order.allSatisfy { $0 != nil } && order.compactMap { $0 } == order.compactMap { $0 }.sorted(), "events in order: \(shown.output)")
                #expect(shown.output.contains("unit XA-CGJ (张科长)") && shown.output.contains("result=路灯已修复"), "\(shown.output)")
                #expect(shown.output.contains("time (Asia/Shanghai)") && shown.output.contains("hash chain: OK (5 events)"), "\(shown.output)")
            }
            // Tamper with the third event behind the append-only trigger's back, as a rogue DBA could.
            try await Admin.withConnection(on: db.url) { connection in
                try await connection.execute("SET session_replication_role = replica", logger: db.logger)
                try await connection.execute("""
                    UPDATE hotline.ticket_events SET details = details || '{"lead": "XA-ZJJ"}' WHERE ticket_id = \(ticket) AND seq = 3
                    """, logger: db.logger)
            }
            let broken = try await Self.hotline(["replay", "\(ticket)"], database: db.url)
            #expect(broken.status == 3, "\(broken.output)")
            #expect(broken.output.contains("hash chain: BROKEN at event 3 of 5: content was changed after it was written"), "\(broken.output)")

            let unknown = try await Self.hotline(["replay", "987654321"], database: db.url)
            #expect(unknown.status != 0 && unknown.output.contains("no ticket with id or number 987654321"), "\(unknown.output)")
            let bad = try await Self.hotline(["replay", "42; DROP TABLE x"], database: db.url)
            #expect(bad.status != 0 && bad.output.contains("neither a ticket id nor a ticket number"), "\(bad.output)")
        }
    }
}
