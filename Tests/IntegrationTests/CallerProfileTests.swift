import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

/// Repeat-call linking, the caller profile and the knowledge base (sql/0006, 0007), through the
/// SQL functions intake-extraction and operators call.
@Suite("Caller profile, repeat calls, knowledge base")
struct CallerProfileTests {
    static let water = "城乡建设/城市建设和市政管理/自来水供应"
    static let noise = "环境保护/环境污染/噪音污染"

    /// Submits a ticket and records an extraction for it the way the worker does.
    static func ticket(_ client: PostgresClient, _ externalID: String, _ content: String, phone: String? = "13800138000",
                       district: String = "雁塔区", category: String? = water, urgency: String = "basic_livelihood",
                       logger: Logger = TestDatabase.logger) async throws -> (id: Int64, outcome: String, mergedInto: Int64?, kb: [String]) {
        let submitted = try await TicketIntakeTests.submit(client, externalID: externalID, content: content, phone: phone, logger: logger)
        let row = try #require(try await client.first("""
            SELECT outcome, merged_into, kb_articles FROM hotline.record_extraction(
                \(submitted.id), (SELECT id FROM hotline.jurisdictions WHERE name = \(district) AND level <> 'street'),
                NULL, NULL, \(category), \(urgency), false, false, NULL, NULL, NULL, '{"model":"test"}'::jsonb)
            """, as: (String, Int64?, [String]).self, logger: logger))
        return (submitted.id, row.0, row.1, row.2)
    }

    @Test func aRepeatCallAboutTheSameOpenMatterIsLinkedNotDispatchedAgain() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let first = try await Self.ticket(client, "w-1", "雁塔区小寨路天和小区3号楼从昨天开始停水，一直没来水")
                #expect(first.outcome == "dispatch")
                #expect(first.kb.first == "KB-WATER-01", "the water article is suggested first: \(first.kb)")
                // The same caller, the same category, another wording: a repeat.
                let second = try await Self.ticket(client, "w-2", "我上午打过电话了，天和小区到现在还是没水，怎么还没人来修")
                #expect(second.outcome == "merged")
                #expect(second.mergedInto == first.id)
                // The same caller about noise: a different matter, dispatched.
                let other = try await Self.ticket(client, "w-3", "楼下饭馆排风扇半夜还在响，吵得睡不着", category: Self.noise, urgency: "normal")
                #expect(other.outcome == "dispatch")
                // Another caller about the same water outage: a separate ticket (their own caller profile).
                let neighbour = try await Self.ticket(client, "w-4", "天和小区停水了", phone: "13800138099")
                #expect(neighbour.outcome == "dispatch")

                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'auto-dispatch'") == 3)
                let linked = try #require(try await client.first(
                    "SELECT status, merged_into FROM hotline.tickets WHERE id = \(second.id)", as: (String, Int64?).self, logger: db.logger))
                #expect(linked.0 == "merged" && linked.1 == first.id)
                #expect(try await client.count("SELECT repeat_calls FROM hotline.tickets WHERE id = \(first.id)") == 1)
                let events = try await client.all(
                    "SELECT event FROM hotline.ticket_events WHERE ticket_id = \(first.id) ORDER BY seq", as: String.self, logger: db.logger)
                #expect(events == ["received", "extracted", "repeat_call"])
                let repeatEvents = try await client.all(
                    "SELECT event FROM hotline.ticket_events WHERE ticket_id = \(second.id) ORDER BY seq", as: String.self, logger: db.logger)
                #expect(repeatEvents == ["received", "extracted", "merged"])
                for id in [first.id, second.id] {
                    let intact = try await client.first("SELECT ok FROM hotline.verify_ticket_chain(\(id))", as: Bool.self, logger: db.logger)
                    #expect(intact == true)
                }
                // The caller's profile, found by another written form of the number.
                let profile = try await client.all(
                    "SELECT ticket_id, status FROM hotline.caller_profile('+86 138-0013-8000')", as: (Int64, String).self, logger: db.logger)
                #expect(profile.map(\.0) == [other.id, second.id, first.id])
                #expect(try await client.count(
                    "SELECT (extraction->>'caller_earlier_tickets')::int FROM hotline.tickets WHERE id = \(other.id)") == 2)
            }
        }
    }

    @Test func aClosedTicketOrAnOldOneIsNotReopenedByARepeatCall() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let old = try await Self.ticket(client, "o-1", "小寨路天和小区停水")
                try await client.execute("UPDATE hotline.tickets SET received_at = now() - interval '45 days' WHERE id = \(old.id)", logger: db.logger)
                #expect(try await Self.ticket(client, "o-2", "天和小区又停水了").outcome == "dispatch", "older than the 30-day window")
                let closed = try await Self.ticket(client, "c-1", "丈八街道停水", phone: "13800138055")
                try await client.execute("UPDATE hotline.tickets SET status = 'closed' WHERE id = \(closed.id)", logger: db.logger)
                #expect(try await Self.ticket(client, "c-2", "丈八街道还是停水", phone: "13800138055").outcome == "dispatch")
                // A quoted ticket number links whoever calls.
                let open = try await Self.ticket(client, "q-1", "曲江池南路路灯不亮", phone: "13800138066", category: nil, urgency: "normal")
                let number = try #require(try await client.first("SELECT ticket_no FROM hotline.tickets WHERE id = \(open.id)", as: String.self, logger: db.logger))
                let quoted = try await Self.ticket(client, "q-2", "工单号\(number)，路灯到现在还不亮", phone: nil, category: nil, urgency: "normal")
                #expect(quoted.outcome == "merged" && quoted.mergedInto == open.id)
                // Recording twice does nothing the second time.
                let again = try #require(try await client.first("""
                    SELECT outcome FROM hotline.record_extraction(\(open.id), NULL, NULL, NULL, NULL, 'normal', false, false, NULL, NULL, NULL, '{}')
                    """, as: String.self, logger: db.logger))
                #expect(again == "skipped")
            }
        }
    }

    @Test(arguments: [
        ("HL040", "SELECT hotline.merge_repeat_call(999999, 1, 'person', 'op-1')"),
        ("HL043", "SELECT hotline.merge_repeat_call(1, 1, 'person', 'op-1')"),
        ("HL042", "SELECT hotline.merge_repeat_call(2, 1, 'person', 'op-1')"),
        ("HL040", "SELECT * FROM hotline.record_extraction(999999, NULL, NULL, NULL, NULL, 'normal', false, false, NULL, NULL, NULL, '{}')"),
        ("HL044", "SELECT * FROM hotline.record_extraction(1, NULL, NULL, NULL, '不存在/的/分类', 'normal', false, false, NULL, NULL, NULL, '{}')"),
        ("HL045", "SELECT * FROM hotline.record_extraction(1, NULL, NULL, NULL, NULL, 'whenever', false, false, NULL, NULL, NULL, '{}')"),
        ("HL046", "SELECT * FROM hotline.record_extraction(1, NULL, NULL, NULL, NULL, 'normal', false, false, NULL, NULL, NULL, '[1]')"),
        ("HL005", "SELECT * FROM hotline.caller_profile('not a phone')"),
        ("HL050", "SELECT * FROM hotline.search_kb('停水', NULL, 0)"),
        ("HL051", "SELECT * FROM hotline.search_kb('  ', NULL, 5)"),
        ("HL052", "SELECT * FROM hotline.search_kb('停水', 999999, 5)"),
        ("HL010", "SELECT hotline.setting('no.such.key')"),
    ])
    func badCallsAreRejectedWithTheirCode(code: String, sql: String) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                // Ticket 1 is still 'received' (not an open matter); ticket 2 likewise.
                _ = try await TicketIntakeTests.submit(client, externalID: "e-1")
                _ = try await TicketIntakeTests.submit(client, externalID: "e-2")
                let before = try await client.count("SELECT count(*)::int FROM hotline.ticket_events")
                let error = await #expect(throws: DatabaseError.self) {
                    try await client.execute(PostgresQuery(unsafeSQL: sql), logger: db.logger)
                }
                #expect(error?.sqlState == code, "\(sql): \(String(describing: error))")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events") == before, "nothing half-written")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.tickets WHERE status <> 'received'") == 0)
            }
        }
    }

    @Test func theKnowledgeBaseRanksByKeywordsAndCategory() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                #expect(try await client.count("SELECT count(*)::int FROM hotline.kb_articles") == 24, "every seed article kept its category")
                let heating = try await client.all("""
                    SELECT code FROM hotline.search_kb('家里暖气一点都不热，室温才14度', NULL, 3)
                    """, as: String.self, logger: db.logger)
                #expect(heating.first == "KB-HEAT-01")
                let gas = try await client.all("""
                    SELECT code FROM hotline.search_kb('楼道里一股煤气味', NULL, 3)
                    """, as: String.self, logger: db.logger)
                #expect(gas.first == "KB-GAS-01")
                // A category alone lists its articles; an unrelated text finds nothing.
                let byCategory = try await client.all("""
                    SELECT code FROM hotline.search_kb(NULL, (SELECT id FROM hotline.categories WHERE label = '城乡建设/城市建设和市政管理/冬季采暖'), 5)
                    """, as: String.self, logger: db.logger)
                #expect(Set(byCategory) == ["KB-HEAT-01", "KB-HEAT-02"])
                #expect(try await client.count("SELECT count(*)::int FROM hotline.search_kb('今天天气不错', NULL, 5)") == 0)
                // Inactive articles are not suggested.
                try await client.execute("UPDATE hotline.kb_articles SET active = false WHERE code = 'KB-GAS-01'", logger: db.logger)
                let withoutGas = try await client.all("SELECT code FROM hotline.search_kb('楼道里一股煤气味', NULL, 3)", as: String.self, logger: db.logger)
                #expect(!withoutGas.contains("KB-GAS-01"))
            }
        }
    }
}
