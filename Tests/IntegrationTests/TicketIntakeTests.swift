import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

/// The channels' intake contract (hotline.submit_ticket) and the ticket event log's hash chain.
@Suite("Ticket intake and event log")
struct TicketIntakeTests {
    struct Submitted: Equatable { let id: Int64; let number: String; let created: Bool }

    static func submit(_ client: PostgresClient, channel: String = "web", externalID: String, content: String = "雁塔区小寨路夜市占道经营，噪音扰民",
                       phone: String? = "13800138000", submittedAt: Date? = nil, extra: String = "{}",
                       logger: Logger = TestDatabase.logger) async throws -> Submitted {
        let row = try #require(try await client.first("""
            SELECT ticket_id, ticket_no, created
              FROM hotline.submit_ticket(\(channel), \(externalID), \(content), \(phone), '张女士', \(submittedAt), NULL, \(extra)::jsonb)
            """, as: (Int64, String, Bool).self, logger: logger))
        return Submitted(id: row.0, number: row.1, created: row.2)
    }

    @Test func aSubmissionCreatesTheTicketItsEventAndItsExtractionJobTogether() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let first = try await Self.submit(client, externalID: "web-1")
                #expect(first.created)
                #expect(first.number.count == 16)
                let again = try await Self.submit(client, externalID: "web-1", content: "different text, same submission")
                #expect(again == Submitted(id: first.id, number: first.number, created: false))
                #expect(try await client.count("SELECT count(*)::int FROM hotline.tickets") == 1)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events WHERE event = 'received'") == 1)
                let job = try #require(try await client.first(
                    "SELECT queue, kind, payload->>'ticket_id' FROM queue.jobs", as: (String, String, String).self, logger: db.logger))
                #expect(job == ("intake-extraction", "ticket.extract", String(first.id)))
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs") == 1)
                // The same external id on another channel is another ticket.
                #expect(try await Self.submit(client, channel: "wechat", externalID: "web-1").created)
            }
        }
    }

    @Test func concurrentDuplicateSubmissionsMakeOneTicket() async throws {
        try await TestDatabase.with { db in
            try await db.withClient(maximumConnections: 12) { client async throws in
                let results = try await withThrowingTaskGroup(of: Submitted.self) { group in
                    for _ in 0..<24 { group.addTask { try await Self.submit(client, channel: "app", externalID: "race-7") } }
                    return try await group.reduce(into: [Submitted]()) { $0.append($1) }
                }
                #expect(Set(results.map(\.id)).count == 1)
                #expect(results.filter(\.created).count == 1)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.tickets") == 1)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events") == 1)
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs") == 1)
            }
        }
    }

    @Test(arguments: [
        ("HL001", "fax", "x-1", "有事反映", "13800138000", 0.0, "{}"),
        ("HL002", "web", "", "有事反映", "13800138000", 0.0, "{}"),
        ("HL003", "web", "x-3", " \n\u{3000} ", "13800138000", 0.0, "{}"),
        ("HL004", "web", "x-4", String(repeating: "长", count: 10_001), "13800138000", 0.0, "{}"),
        ("HL005", "web", "x-5", "有事反映", "12345", 0.0, "{}"),
        ("HL005", "web", "x-6", "有事反映", "call me maybe", 0.0, "{}"),
        ("HL006", "web", "x-7", "有事反映", "13800138000", 86_400.0, "{}"),
        ("HL006", "web", "x-8", "有事反映", "13800138000", -1_000_000_000.0, "{}"),
        ("HL007", "web", "x-9", "有事反映", "13800138000", 0.0, "[1]"),
    ])
    func badSubmissionsAreRejectedWithAStableCodeAndLeaveNothing(
        code: String, channel: String, externalID: String, content: String, phone: String, offset: Double, extra: String
    ) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let when: Date? = offset == 0 ? nil : Date().addingTimeInterval(offset)
                let error = await #expect(throws: DatabaseError.self) {
                    try await Self.submit(client, channel: channel, externalID: externalID, content: content, phone: phone,
                                          submittedAt: when, extra: extra)
                }
                #expect(error?.sqlState == code, "\(String(describing: error))")
                #expect(error?.message.isEmpty == false)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.tickets") == 0)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events") == 0)
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs") == 0)
            }
        }
    }

    @Test func phoneNumbersAreNormalisedAndMaskedForReaders() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let cases: [(String, String?)] = [
                    ("+86 138 0013 8000", "13800138000"), ("0086-13800138000", "13800138000"), ("029-8888 6666", "02988886666"),
                    ("(029)88886666", "02988886666"), ("８８８８６６６６", "88886666"), ("1380013800", nil), ("12345", nil), ("电话", nil),
                ]
                for (input, expected) in cases {
                    let normalized = try await client.first("SELECT hotline.normalize_phone(\(input))", as: String?.self, logger: db.logger)
                    #expect((normalized ?? nil) == expected, "\(input)")
                }
                let ticket = try await Self.submit(client, externalID: "mask-1", phone: "138 0013 8000")
                try await client.execute("UPDATE hotline.tickets SET caller_id_number = '610113199001011234' WHERE id = \(ticket.id)", logger: db.logger)
                let masked = try #require(try await client.first(
                    "SELECT caller_phone, caller_id_number FROM hotline.tickets_masked WHERE id = \(ticket.id)",
                    as: (String, String).self, logger: db.logger))
                #expect(masked.0 == "138****8000")
                #expect(masked.1 == "6101************34")
            }
        }
    }

    @Test func theEventLogIsAppendOnlyAndItsChainDetectsTampering() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.submit(client, externalID: "chain-1")
                for (index, event) in ["extracted", "dispatched", "accepted", "feedback_given"].enumerated() {
                    let seq = try await client.first(
                        "SELECT hotline.append_event(\(ticket.id), 'process', 'test', \(event), jsonb_build_object('step', \(index)))",
                        as: Int.self, logger: db.logger)
                    #expect(seq == index + 2)
                }
                func verify() async throws -> (Bool, Int, Int?, String?) {
                    try #require(try await client.first(
                        "SELECT ok, events_checked, first_bad_seq, problem FROM hotline.verify_ticket_chain(\(ticket.id))",
                        as: (Bool, Int, Int?, String?).self, logger: db.logger))
                }
                #expect(try await verify().0)
                #expect(try await verify().1 == 5)

                // Ordinary writers cannot change or remove history.
                let refused = await #expect(throws: DatabaseError.self) {
                    try await client.execute("UPDATE hotline.ticket_events SET actor = 'me' WHERE seq = 3", logger: db.logger)
                }
                #expect(refused?.sqlState == "HL021")
                await #expect(throws: DatabaseError.self) {
                    try await client.execute("DELETE FROM hotline.ticket_events WHERE seq = 5", logger: db.logger)
                }

                // Someone with the power to switch the guard off still cannot hide it.
                try await client.execute("ALTER TABLE hotline.ticket_events DISABLE TRIGGER ticket_events_append_only", logger: db.logger)
                try await client.execute("UPDATE hotline.ticket_events SET details = '{\"step\": 9}' WHERE ticket_id = \(ticket.id) AND seq = 3", logger: db.logger)
                var check = try await verify()
                #expect(check.0 == false && check.2 == 3)
                #expect(check.3?.contains("changed") == true)
                try await client.execute("UPDATE hotline.ticket_events SET details = '{\"step\": 1}' WHERE ticket_id = \(ticket.id) AND seq = 3", logger: db.logger)
                #expect(try await verify().0, "restoring the original content restores the chain")

                try await client.execute("DELETE FROM hotline.ticket_events WHERE ticket_id = \(ticket.id) AND seq = 2", logger: db.logger)
                check = try await verify()
                #expect(check.0 == false && check.2 == 2)
                #expect(check.3?.contains("missing") == true)

                let other = try await Self.submit(client, externalID: "chain-2")
                _ = try await client.first("SELECT hotline.append_event(\(other.id), 'unit', 'u', 'accepted')", as: Int.self, logger: db.logger)
                try await client.execute("DELETE FROM hotline.ticket_events WHERE ticket_id = \(other.id) AND seq = 2", logger: db.logger)
                let tail = try #require(try await client.first(
                    "SELECT ok, problem FROM hotline.verify_ticket_chain(\(other.id))", as: (Bool, String?).self, logger: db.logger))
                #expect(tail.0 == false, "a removed last event is caught by the ticket's recorded head")
                #expect(tail.1?.contains("records 2 events but 1 remain") == true)
            }
        }
    }

    @Test func referenceDataIsSeeded() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                #expect(try await client.count("SELECT count(*)::int FROM hotline.categories") == 517)
                #expect(try await client.count("SELECT count(DISTINCT level1)::int FROM hotline.categories") == 15)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.categories WHERE level3 IN ('燃气供应', '电力供应', '自来水供应', '冬季采暖')") == 4)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.jurisdictions WHERE level IN ('district', 'county', 'development_zone')") == 20)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.jurisdictions WHERE '高新' = ANY (aliases)") == 1)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.handling_units WHERE kind = 'utility'") == 4)
                #expect(try await client.count("""
                    SELECT count(*)::int FROM hotline.jurisdictions s WHERE s.level IN ('street', 'town')
                       AND NOT EXISTS (SELECT 1 FROM hotline.handling_units u WHERE u.jurisdiction_id = s.id)
                    """) == 0, "every street and town has its office")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.urgency_classes") == 5)
                let emergency = try await client.first(
                    "SELECT extract(epoch FROM feedback_within)::int FROM hotline.urgency_classes WHERE code = 'emergency'", as: Int.self, logger: db.logger)
                #expect(emergency == 7200)
            }
        }
    }
}
