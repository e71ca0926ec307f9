import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

/// Hostile input at the SQL entry points channels, gateways, units and people call: each call
/// is refused with a stable SQLSTATE and leaves no row behind, or (for text that only looks
/// dangerous) is stored verbatim.
@Suite("Hostile input")
struct HostileInputTests {
    static let huge = String(repeating: "投诉", count: 300_000)

    /// Rows in every table an entry point writes, to show a refusal left nothing.
    static let footprint = """
        SELECT (SELECT count(*) FROM hotline.tickets) + (SELECT count(*) FROM hotline.ticket_events) + (SELECT count(*) FROM queue.jobs)
             + (SELECT count(*) FROM hotline.sms_outbox) + (SELECT count(*) FROM hotline.sms_inbound) + (SELECT count(*) FROM hotline.supervisions)
             + (SELECT count(*) FROM hotline.escalations)
        """

    @Test(arguments: [
        ("22021", "SELECT * FROM hotline.submit_ticket('web', 'h-2', convert_from('\\xe8b7ff'::bytea, 'UTF8'))", "invalid UTF-8"),
        ("HL004", "SELECT * FROM hotline.submit_ticket('web', 'h-3', repeat('投', 10001))", "oversize content"),
        ("HL007", "SELECT * FROM hotline.submit_ticket('web', 'h-4', '路灯不亮', NULL, NULL, NULL, NULL, '[1, 2, 3]')", "extra that is not an object"),
        ("HL007", "SELECT * FROM hotline.submit_ticket('web', 'h-5', '路灯不亮', NULL, NULL, NULL, NULL, jsonb_build_object('x', repeat('a', 20000)))", "huge extra"),
        ("HL006", "SELECT * FROM hotline.submit_ticket('web', 'h-6', '路灯不亮', NULL, NULL, '-infinity')", "a timestamp at minus infinity"),
        ("HL006", "SELECT * FROM hotline.submit_ticket('web', 'h-7', '路灯不亮', NULL, NULL, '9999-12-31')", "a timestamp in 9999"),
        ("HL001", "SELECT * FROM hotline.submit_ticket('web''; DROP TABLE hotline.tickets; --', 'h-8', '路灯不亮')", "an injection as channel"),
        ("HL008", "SELECT * FROM hotline.submit_ticket('web', 'h-9', '路灯不亮', NULL, NULL, NULL, repeat('地址', 1000))", "an oversize address"),
        ("HL101", "SELECT hotline.queue_sms('citizen.receipt', '13900000001', jsonb_build_object('ticket_no', repeat('1', 500)))", "an oversize SMS variable"),
        ("HL101", "SELECT hotline.queue_sms('citizen.receipt', '13900000001', '\"just a string\"')", "SMS variables that are not an object"),
        ("HL092", "SELECT hotline.receive_sms('13900000001', repeat('满', 1001))", "an oversize inbound SMS"),
        ("HL091", "SELECT hotline.receive_sms('1390000000１; --', '1')", "a phone with SQL in it"),
        ("HL086", "SELECT hotline.open_supervision(1, 'XA-DCS', 'x', 'infinity', repeat('督', 10))", "a supervision due at infinity"),
        ("HL086", "SELECT hotline.open_supervision(1, 'XA-DCS', 'x', now() + interval '1 day', repeat('督', 1001))", "an oversize supervision note"),
        ("HL084", "SELECT hotline.request_escalation(1, repeat('x', 100000), 1)", "a huge trigger name"),
        ("HL080", "SELECT * FROM hotline.fire_sla_timers(now(), 2147483647)", "an absurd firing batch"),
        ("HL104", "SELECT hotline.record_sms_results('x', jsonb_build_array(jsonb_build_object('id', 'one', 'outcome', 'sent')))", "a result id of the wrong type"),
    ])
    func refusedWithAStableCodeAndNothingWritten(code: String, sql: String, what: String) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await expectRefused(client, sql, setup: false, code: code, what: what, footprint: Self.footprint)
            }
        }
    }

    @Test func textThatOnlyLooksDangerousIsStoredVerbatim() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let text = "'); DROP TABLE hotline.tickets; -- <script>alert(1)</script> \\x00 %s %n ${jndi:ldap://x} 路灯不亮"
                let id = try await TicketIntakeTests.submit(client, externalID: "verbatim", content: text, phone: nil).id
                let stored = try await client.first("SELECT content FROM hotline.tickets WHERE id = \(id)", as: String.self, logger: db.logger)
                #expect(stored == text)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.tickets") == 1)
            }
        }
    }

    @Test func aNulCharacterFromADriverIsRefused() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let error = await #expect(throws: DatabaseError.self) {
                    _ = try await TicketIntakeTests.submit(client, externalID: "nul", content: "路灯\u{0}不亮", phone: nil)
                }
                #expect(error?.sqlState == "22021", "\(String(describing: error))")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.tickets") == 0)
            }
        }
    }
}
