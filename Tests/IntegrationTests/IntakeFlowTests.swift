@testable import IntakeExtraction
import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

/// Channel → submit_ticket → intake-extraction worker → ticket filled in, 'extracted' event,
/// dispatch job, all in one transaction.
@Suite("Intake flow")
struct IntakeFlowTests {
    /// Loads the corpus the way `hotline load-corpus` does.
    static func loadCorpus(_ client: PostgresClient, logger: Logger) async throws -> Int {
        try await LabelledCorpus.store(try CorpusAccuracyTests.corpus(), on: client, logger: logger)
    }

    @Test func aSubmittedTicketIsExtractedAndHandedToDispatch() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                #expect(try await Self.loadCorpus(client, logger: db.logger) >= 300)
                #expect(try await Self.loadCorpus(client, logger: db.logger) == 0, "loading twice adds nothing")
            }
            var worker = try Worker(name: "intake-extraction", queue: "intake-extraction")
            let model = ExtractionModel()
            let group = ExtractTicketHandler.group()
            try worker.register(ExtractTicket.self) { job, context in
                try await ExtractTicketHandler.run(job, context, model: model, group: group)
            }
            try await withWorker(worker, on: db) { queue in
                let client = queue.client
                let ticket = try #require(try await client.first("""
                    SELECT ticket_id FROM hotline.submit_ticket('phone', 'call-0001',
                        '你好，雁塔区小寨路街道这边从昨天晚上就停水了，到现在还没来水，我电话13800138000', NULL)
                    """, as: Int64.self, logger: db.logger))
                try await eventually("ticket extracted") {
                    let status: String? = try await client.first(
                        "SELECT status FROM hotline.tickets WHERE id = \(ticket)", as: String.self, logger: db.logger)
                    return status == "extracted"
                }
                let row = try #require(try await client.first("""
                    SELECT d.name, s.name, t.urgency_class, t.caller_phone, c.label, t.extraction->>'urgency'
                      FROM hotline.tickets t
                      LEFT JOIN hotline.jurisdictions d ON d.id = t.district_id
                      LEFT JOIN hotline.jurisdictions s ON s.id = t.street_id
                      LEFT JOIN hotline.categories c ON c.id = t.category_id
                     WHERE t.id = \(ticket)
                    """, as: (String?, String?, String?, String?, String?, String?).self, logger: db.logger))
                #expect(row.0 == "雁塔区")
                #expect(row.1 == "小寨路街道")
                #expect(row.2 == "basic_livelihood")
                #expect(row.3 == "13800138000")
                #expect(row.4 == "城乡建设/城市建设和市政管理/自来水供应")
                #expect(row.5 == "basic_livelihood")
                let events = try await client.all(
                    "SELECT event FROM hotline.ticket_events WHERE ticket_id = \(ticket) ORDER BY seq", as: String.self, logger: db.logger)
                #expect(events == ["received", "extracted"])
                let dispatch = try await client.all(
                    "SELECT kind, priority::int, payload->>'ticket_id' FROM queue.jobs WHERE queue = 'auto-dispatch'",
                    as: (String, Int, String).self, logger: db.logger)
                #expect(dispatch.count == 1)
                #expect(dispatch.first?.0 == "ticket.dispatch" && dispatch.first?.1 == -5 && dispatch.first?.2 == String(ticket))
                let chain = try await client.first("SELECT ok FROM hotline.verify_ticket_chain(\(ticket))", as: Bool.self, logger: db.logger)
                #expect(chain == true)
                let suggested = try await client.all(
                    "SELECT jsonb_array_elements_text(extraction->'kb_articles') FROM hotline.tickets WHERE id = \(ticket)",
                    as: String.self, logger: db.logger)
                #expect(suggested.first == "KB-WATER-01", "the operator is shown the water-outage article: \(suggested)")

                // The same caller rings again about the same outage: linked, not dispatched twice.
                let repeatCall = try #require(try await client.first("""
                    SELECT ticket_id FROM hotline.submit_ticket('phone', 'call-0002',
                        '喂，我早上打过电话了，小寨路那边还是没水，到底什么时候来水', '138 0013 8000')
                    """, as: Int64.self, logger: db.logger))
                try await eventually("repeat call linked") {
                    let into = try await client.first("SELECT merged_into FROM hotline.tickets WHERE id = \(repeatCall)", as: Int64?.self, logger: db.logger)
                    return into == .some(.some(ticket))
                }
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'auto-dispatch'") == 1)
                #expect(try await client.count("SELECT repeat_calls FROM hotline.tickets WHERE id = \(ticket)") == 1)
            }
        }
    }

    @Test func anExtractionJobForAMissingTicketGoesDeadAloneWhileItsNeighboursAreExtracted() async throws {
        try await TestDatabase.with { db in
            var worker = try Worker(name: "intake-extraction", queue: "intake-extraction")
            let model = ExtractionModel()
            let group = ExtractTicketHandler.group()
            try worker.register(ExtractTicket.self) { job, context in
                try await ExtractTicketHandler.run(job, context, model: model, group: group)
            }
            // Submitted before the worker starts, so the bad job is claimed with the good ones.
            try await db.withClient { client async throws in
                for index in 0..<6 {
                    _ = try await TicketIntakeTests.submit(client, externalID: "m-\(index)", content: "碑林区文艺路路灯坏了\(index)天", phone: nil)
                }
                try await client.execute(
                    "INSERT INTO queue.jobs (queue, kind, payload) VALUES ('intake-extraction', 'ticket.extract', '{\"ticket_id\": 987654321}')",
                    logger: db.logger)
            }
            try await withWorker(worker, on: db, options: testOptions(concurrency: 8, batch: 8)) { queue in
                try await eventually("good extracted, bad dead") {
                    let extracted = try await queue.client.count("SELECT count(*)::int FROM hotline.tickets WHERE status = 'extracted'")
                    let dead = try await queue.client.count("SELECT count(*)::int FROM queue.jobs WHERE status = 'dead'")
                    return extracted == 6 && dead == 1
                }
                let error = try await queue.client.first("SELECT errors::text FROM queue.jobs WHERE status = 'dead'", as: String.self, logger: db.logger)
                #expect(error?.contains("ticket 987654321 does not exist") == true, "\(error ?? "-")")
            }
        }
    }

    /// The worker suggests articles itself; it must agree with hotline.search_kb(), which
    /// operators and other callers use.
    @Test func theWorkersArticleSuggestionsMatchTheSQLSearch() async throws {
        let rows = try CorpusAccuracyTests.corpus()
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let knowledgeBase = try await KnowledgeBase.load(from: client, logger: db.logger)
                var compared = 0, withArticles = 0
                for (index, row) in rows.enumerated() where index % 7 == 0 {
                    for category in [nil, row.category] as [String?] {
                        let sql = try await client.all("""
                            SELECT code FROM hotline.search_kb(\(row.text), (SELECT id FROM hotline.categories WHERE label = \(category)), 3)
                            """, as: String.self, logger: db.logger)
                        let swift = knowledgeBase.suggest(for: row.text, category: category)
                        #expect(swift == sql, "\(row.id) \(category ?? "-"): \(swift) vs \(sql)")
                        compared += 1
                        if !sql.isEmpty { withArticles += 1 }
                    }
                }
                #expect(compared > 300)
                #expect(withArticles > compared / 3, "the comparison covers texts with suggestions too")
            }
        }
    }

    @Test func badCorpusRowsAreReportedNotDropped() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let error = await #expect(throws: DatabaseError.self) {
                    try await client.execute(
                        "SELECT hotline.add_labelled_text('corpus', 'x1', '文本', '不存在/的/分类', 'normal')", logger: db.logger)
                }
                #expect(error?.sqlState == "HL030")
                #expect(error?.message.contains("unknown category") == true)
                await #expect(throws: DatabaseError.self) {
                    try await client.execute(
                        "SELECT hotline.add_labelled_text('corpus', 'x2', '文本', NULL, 'normal', '雁塔区', '文艺路街道')", logger: db.logger)
                }
                #expect(try await client.count("SELECT count(*)::int FROM hotline.labelled_texts") == 0)
            }
        }
    }
}
