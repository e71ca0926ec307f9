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

    /// Concurrent extraction groups finish in any order: whichever of a caller's two calls about
    /// one matter is extracted second is linked to the other.
    @Test func aRepeatCallIsLinkedWhicheverCallIsExtractedFirst() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                func extract(_ id: Int64) async throws -> (String, Int64?) {
                    try #require(try await client.first("""
                        SELECT outcome, merged_into FROM hotline.record_extraction(
                            \(id), (SELECT id FROM hotline.jurisdictions WHERE name = '雁塔区'), NULL, NULL, \(Self.water),
                            'basic_livelihood', false, false, NULL, NULL, NULL, '{"model":"test"}'::jsonb)
                        """, as: (String, Int64?).self, logger: db.logger))
                }
                // The later call is extracted first: the earlier one, still waiting for its own
                // extraction (no category yet, so its text must be alike), is the matter it repeats.
                let earlier = try await TicketIntakeTests.submit(client, externalID: "r-1", content: "天和小区3号楼停水了", phone: "13800138071")
                let later = try await TicketIntakeTests.submit(client, externalID: "r-2", content: "天和小区3号楼还是停水了", phone: "13800138071")
                let first = try await extract(later.id)
                #expect(first.0 == "merged" && first.1 == earlier.id)
                #expect(try await extract(earlier.id).0 == "dispatch")
                // Worded too differently to tell before extraction: the later one is dispatched,
                // and the earlier one, once extracted into the same category, joins it.
                let one = try await TicketIntakeTests.submit(client, externalID: "r-7", content: "曲江池小区没水了", phone: "13800138074")
                let two = try await TicketIntakeTests.submit(client, externalID: "r-8", content: "家里水龙头一滴都没有，啥时候恢复供应", phone: "13800138074")
                #expect(try await extract(two.id).0 == "dispatch")
                let joinedLater = try await extract(one.id)
                #expect(joinedLater.0 == "merged" && joinedLater.1 == two.id)

                // An earlier call that reaches extraction only after the later one was dispatched
                // (its submission committed late) joins the one being handled.
                let handled = try await TicketIntakeTests.submit(client, externalID: "r-3", content: "丈八街道停水一天了", phone: "13800138072")
                #expect(try await extract(handled.id).0 == "dispatch")
                let late = try await TicketIntakeTests.submit(client, externalID: "r-4", content: "丈八街道停水，什么时候来水", phone: "13800138072")
                try await client.execute("UPDATE hotline.tickets SET received_at = received_at - interval '1 minute' WHERE id = \(late.id)", logger: db.logger)
                let joined = try await extract(late.id)
                #expect(joined.0 == "merged" && joined.1 == handled.id)

                // A later call still waiting for extraction is not yet a matter anyone handles:
                // the earlier call is dispatched, and the later one will be linked to it.
                let a = try await TicketIntakeTests.submit(client, externalID: "r-5", content: "电子城街道停水", phone: "13800138073")
                let b = try await TicketIntakeTests.submit(client, externalID: "r-6", content: "电子城街道还停水", phone: "13800138073")
                #expect(try await extract(a.id).0 == "dispatch")
                let linked = try await extract(b.id)
                #expect(linked.0 == "merged" && linked.1 == a.id)
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
        ("HL042", "SELECT hotline.merge_repeat_call(2, 3, 'person', 'op-1')"),
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
                // Tickets 1 and 2 are 'received'; ticket 3 was cancelled, so it is no open matter.
                _ = try await TicketIntakeTests.submit(client, externalID: "e-1")
                _ = try await TicketIntakeTests.submit(client, externalID: "e-2")
                _ = try await TicketIntakeTests.submit(client, externalID: "e-3")
                try await client.execute("UPDATE hotline.tickets SET status = 'cancelled' WHERE external_id = 'e-3'", logger: db.logger)
                let before = try await client.count("SELECT count(*)::int FROM hotline.ticket_events")
                let error = await #expect(throws: DatabaseError.self) {
                    try await client.execute(PostgresQuery(unsafeSQL: sql), logger: db.logger)
                }
                #expect(error?.sqlState == code, "\(sql): \(String(describing: error))")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events") == before, "nothing half-written")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.tickets WHERE status <> 'received' AND external_id <> 'e-3'") == 0)
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
