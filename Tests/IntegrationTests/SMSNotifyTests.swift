import AsyncHTTPClient
import Foundation
import GatewaySimulator
import Logging
import PostgresNIO
@testable import SMSNotify
import Shared
import Testing

/// SMS-notify on the real database against a local HTTP gateway (`GatewaySimulator`): each
/// test drives the sender one step at a time, so outcomes, retries, crashes, rates and caps are
/// checked without sleeping.
@Suite("SMS notify")
struct SMSNotifyTests {
    static let links = try! SignedLink(base: "https://12345.xa.gov.cn/h", secret: "test-link-secret-0123456789")

    /// Runs `body` with a simulator, an HTTP client and a sender pointed at it.
    /// The slow number's reply comes after 8 s; the client gives up after `timeout`. Both are far
    /// from the simulator's immediate replies, so a loaded machine cannot blur the two.
    static func withGateway<R: Sendable>(secret: String? = nil, clientSecret: String? = nil, timeout: TimeAmount = .seconds(5),
                                         _ body: (GatewaySimulator, OutboxSender) async throws -> R) async throws -> R {
        // The slow number's reply comes long after the client gave up (5 s), even on a loaded
        // machine whose timers run late: an 8 s reply once beat a 5 s timeout under CI load.
        let simulator = try await GatewaySimulator.start(hmacSecret: secret, slowReplySeconds: 120)
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let auth: HTTPJSONGateway.Auth = (clientSecret ?? secret).map { .hmac(secret: $0) } ?? .header(name: "Authorization", value: "Bearer test")
        let gateway = HTTPJSONGateway(client: http, url: simulator.url, auth: auth, timeout: timeout)
        let sender = OutboxSender(owner: "test-sender", gateway: gateway, links: links, batch: 50, concurrency: 8, lease: .seconds(30))
        do {
            let result = try await body(simulator, sender)
            try await http.shutdown()
            await simulator.stop()
            return result
        } catch {
            try? await http.shutdown()
            await simulator.stop()
            throw error
        }
    }

    static func noQuietHours(_ client: PostgresClient) async throws {
        try await client.execute(#"UPDATE hotline.settings SET value = '["00:00", "00:00"]' WHERE key = 'citizen.quiet_hours'"#, logger: TestDatabase.logger)
    }

    @discardableResult
    static func queue(_ client: PostgresClient, _ phone: String, template: String = "citizen.receipt",
                      variables: String = #"{"ticket_no": "20261125-000001"}"#) async throws -> Int64 {
        try #require(try await client.first("SELECT hotline.queue_sms(\(template), \(phone), \(variables)::jsonb)", as: Int64.self, logger: TestDatabase.logger))
    }

    static func state(_ client: PostgresClient, _ id: Int64) async throws -> (status: String, attempts: Int, error: String?, provider: String?) {
        try #require(try await client.first("""
            SELECT status, attempts, last_error, provider_message_id FROM hotline.sms_outbox WHERE id = \(id)
            """, as: (String, Int, String?, String?).self, logger: TestDatabase.logger))
    }

    @Test func messagesAreRenderedSentOnceWithASignedLinkAndRecorded() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await Self.noQuietHours(client)
                let ticket = try await SLATimerTests.dispatch(client, "sms-1")
                let notice = try #require(try await client.first("SELECT id FROM hotline.sms_outbox WHERE ticket_id = \(ticket) AND template = 'dispatch.lead'",
                                                                 as: Int64.self, logger: db.logger))
                let receipt = try await Self.queue(client, "13900000001")
                try await Self.withGateway { simulator, sender in
                    _ = try await sender.step(client, db.logger)
                    #expect(try await Self.state(client, notice).status == "sent")
                    #expect(try await Self.state(client, receipt).provider == "gw-hotline-\(receipt)")
                    let handler = try #require(simulator.received.first { $0.reference == "hotline-\(notice)" })
                    #expect(handler.idempotencyKey == "hotline-\(notice)")
                    let link = try #require(handler.text.split(separator: "：").last.map(String.init))
                    let named = try Self.links.verify(link)
                    let ticketNo = try await client.first("SELECT ticket_no FROM hotline.tickets WHERE id = \(ticket)", as: String.self, logger: db.logger)
                    #expect(named.ticketNo == ticketNo && named.unit == "XA-CGJ", "the link opens this ticket for this unit")
                    #expect(try await client.count("SELECT segments FROM hotline.sms_outbox WHERE id = \(notice)") == OutboxSender.segments(handler.text))
                    let before = simulator.received.count
                    _ = try await sender.step(client, db.logger)
                    #expect(simulator.received.count == before, "nothing is sent twice")
                    // The provider's receipt.
                    let matched = try await client.first("SELECT hotline.receive_sms_receipt(\("gw-hotline-\(notice)"), 'delivered')", as: Bool.self, logger: db.logger)
                    #expect(matched == true)
                    #expect(try await Self.state(client, notice).status == "delivered")

                    // A receipt that overtakes the sender's results is applied when they arrive.
                    let early = try await Self.queue(client, "13900000002")
                    let unmatched = try await client.first("SELECT hotline.receive_sms_receipt(\("gw-hotline-\(early)"), 'delivered')", as: Bool.self, logger: db.logger)
                    #expect(unmatched == false)
                    _ = try await sender.step(client, db.logger)
                    #expect(try await Self.state(client, early).status == "delivered")
                }
            }
        }
    }

    @Test func eachGatewayReplyLeadsToItsOutcome() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await Self.noQuietHours(client)
                try await client.execute(#"UPDATE hotline.settings SET value = '"hold"' WHERE key = 'sms.unknown_policy'"#, logger: db.logger)
                let limited = try await Self.queue(client, "13900000429")
                let broken = try await Self.queue(client, "13900000500")
                let invalid = try await Self.queue(client, "13900000400")
                let garbled = try await Self.queue(client, "13900000222")
                let slow = try await Self.queue(client, "13900000408")
                try await Self.withGateway { _, sender in
                    _ = try await sender.step(client, db.logger)
                    let waited: Double? = try await client.first("SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM hotline.sms_outbox WHERE id = \(limited)",
                                                                 as: Double.self, logger: db.logger)
                    let wait = waited ?? 0
                    #expect(try await Self.state(client, limited).status == "pending")
                    #expect(wait > 0 && wait <= 1.5, "429 waits for the gateway's Retry-After (1 s), got \(wait)")
                    let retry = try await Self.state(client, broken)
                    #expect(retry.status == "pending" && retry.attempts == 1 && (retry.error ?? "").contains("503"))
                    let refused = try await Self.state(client, invalid)
                    #expect(refused.status == "failed" && (refused.error ?? "").contains("invalid_number"), "a permanent failure keeps its reason")
                    #expect(try await Self.state(client, garbled).status == "unknown", "a 2xx without a message id: outcome unknown")
                    let timedOut = try await Self.state(client, slow)
                    #expect(timedOut.status == "unknown", "a timeout after sending: outcome unknown; got \(timedOut)")

                    // Later: the rate-limited one goes through; the broken one gives up at the attempt limit.
                    try await client.execute("UPDATE hotline.sms_outbox SET next_attempt_at = now() WHERE id IN (\(limited), \(broken))", logger: db.logger)
                    try await client.execute("UPDATE hotline.sms_outbox SET attempts = 7 WHERE id = \(broken)", logger: db.logger)
                    _ = try await sender.step(client, db.logger)
                    #expect(try await Self.state(client, limited).status == "sent")
                    let gaveUp = try await Self.state(client, broken)
                    #expect(gaveUp.status == "failed" && (gaveUp.error ?? "").hasPrefix("gave up after 8 attempts"))
                    // An operator resends the unknown one explicitly.
                    try await client.execute("SELECT hotline.resend_sms(\(garbled), '运维小王')", logger: db.logger)
                    #expect(try await Self.state(client, garbled).status == "pending")
                }
            }
        }
    }

    @Test func aSenderThatDiesAfterSendingIsResolvedByPolicyWithTheSameReference() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await Self.noQuietHours(client)
                let resent = try await Self.queue(client, "13900000031")
                try await Self.withGateway { simulator, sender in
                    // Another process claims it, sends it, and dies before recording the outcome.
                    let claimed = try await client.all("SELECT id, phone, body FROM hotline.claim_sms('dead-process', 10, 30)",
                                                       as: (Int64, String, String).self, logger: db.logger)
                    #expect(claimed.map(\.0) == [resent])
                    _ = await sender.gateway.send(OutgoingSMS(id: resent, phone: claimed[0].1, text: claimed[0].2))
                    _ = try await sender.step(client, db.logger)
                    #expect(try await Self.state(client, resent).status == "sending", "its lease still runs: nobody touches it")

                    try await client.execute("UPDATE hotline.sms_outbox SET lease_expires_at = now() - interval '1 second' WHERE id = \(resent)", logger: db.logger)
                    _ = try await sender.step(client, db.logger)
                    #expect(try await Self.state(client, resent).status == "sent")
                    #expect(try await client.count("SELECT unknown_count FROM hotline.sms_outbox WHERE id = \(resent)") == 1, "counted as unknown once")
                    let requests = simulator.received.filter { $0.reference == "hotline-\(resent)" }
                    #expect(requests.count == 2 && Set(requests.compactMap(\.idempotencyKey)) == ["hotline-\(resent)"],
                            "resent with the same idempotency reference, so the provider can drop the duplicate")

                    // A dead sender's late result still counts while the resend has not gone out.
                    let late = try await Self.queue(client, "13900000033")
                    _ = try await client.all("SELECT id FROM hotline.claim_sms('slow-process', 10, 30)", as: Int64.self, logger: db.logger)
                    // Its lease expired and a claim turned it back to pending (what claim_sms does
                    // first), but no sender has taken it again yet.
                    try await client.execute("""
                        UPDATE hotline.sms_outbox SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, unknown_count = unknown_count + 1
                         WHERE id = \(late)
                        """, logger: db.logger)
                    let results = #"[{"id": \#(late), "outcome": "sent", "provider_id": "gw-late"}]"#
                    #expect(try await client.count("SELECT hotline.record_sms_results('slow-process', \(results)::jsonb)") == 1)
                    #expect(try await Self.state(client, late).status == "sent")

                    // With the hold policy it waits for a person instead.
                    try await client.execute(#"UPDATE hotline.settings SET value = '"hold"' WHERE key = 'sms.unknown_policy'"#, logger: db.logger)
                    let held = try await Self.queue(client, "13900000032")
                    _ = try await client.all("SELECT id FROM hotline.claim_sms('dead-process', 10, 30)", as: Int64.self, logger: db.logger)
                    try await client.execute("UPDATE hotline.sms_outbox SET lease_expires_at = now() - interval '1 second' WHERE id = \(held)", logger: db.logger)
                    _ = try await sender.step(client, db.logger)
                    #expect(try await Self.state(client, held).status == "unknown")
                    #expect(simulator.received.filter { $0.reference == "hotline-\(held)" }.isEmpty)
                }
            }
        }
    }

    @Test func aGatewayThatGarblesEveryReplyIsNotHammered() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await Self.noQuietHours(client)
                let garbled = try await Self.queue(client, "13900010222")
                try await Self.withGateway { simulator, sender in
                    _ = try await sender.step(client, db.logger)
                    let later = try await client.first("""
                        SELECT next_attempt_at > now() + interval '5 seconds' FROM hotline.sms_outbox WHERE id = \(garbled) AND status = 'pending'
                        """, as: Bool.self, logger: db.logger)
                    #expect(later == true, "resent later, with backoff, not at once")
                    _ = try await sender.step(client, db.logger)
                    #expect(simulator.received.count == 1)
                    try await client.execute("UPDATE hotline.sms_outbox SET attempts = 7, next_attempt_at = now() WHERE id = \(garbled)", logger: db.logger)
                    _ = try await sender.step(client, db.logger)
                    #expect(try await Self.state(client, garbled).status == "unknown", "after the last attempt it waits for a person")
                }
            }
        }
    }

    @Test func theGatewayRateAndTheCitizensDailyCapHold() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await Self.noQuietHours(client)
                try await client.execute("UPDATE hotline.settings SET value = '5' WHERE key = 'sms.rate_per_second'", logger: db.logger)
                // The clock, injected: this second's window lasts as long as the test.
                try await client.execute("UPDATE hotline.sms_rate SET window_start = now() + interval '1 hour', used = 0", logger: db.logger)
                for i in 0..<12 { try await Self.queue(client, "1390000\(String(format: "%04d", 100 + i))") }
                let first = try await client.count("SELECT count(*)::int FROM hotline.claim_sms('a', 100, 30)")
                let second = try await client.count("SELECT count(*)::int FROM hotline.claim_sms('b', 100, 30)")
                #expect(first == 5 && second == 0, "5 per second for the whole fleet: \(first) + \(second)")

                try await client.execute("UPDATE hotline.settings SET value = '0' WHERE key = 'sms.rate_per_second'", logger: db.logger)
                try await client.execute("UPDATE hotline.sms_outbox SET status = 'cancelled' WHERE status IN ('pending', 'sending')", logger: db.logger)
                var ids: [Int64] = []
                for _ in 0..<7 { ids.append(try await Self.queue(client, "13900000777")) }
                #expect(try await client.count("SELECT count(*)::int FROM hotline.claim_sms('c', 100, 30)") == 5)
                let held = try await client.all("""
                    SELECT last_error FROM hotline.sms_outbox WHERE phone = '13900000777' AND status = 'held'
                       AND next_attempt_at = ((now() AT TIME ZONE 'Asia/Shanghai')::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
                    """, as: String.self, logger: db.logger)
                #expect(held == ["citizen daily cap reached", "citizen daily cap reached"], "two wait for the next local day")
            }
        }
    }

    @Test func citizensAreNotTextedInQuietHoursButHandlersAre() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                // Quiet all day but the last second: any test run falls in it.
                try await client.execute(#"UPDATE hotline.settings SET value = '["00:00", "23:59:59"]' WHERE key = 'citizen.quiet_hours'"#, logger: db.logger)
                let citizen = try await Self.queue(client, "13900000041")
                let handler = try await Self.queue(client, "13900000042", template: "sla.urging",
                                                   variables: #"{"unit": "城管局", "ticket_no": "X", "what": "签收", "due": "11-25 10:00"}"#)
                #expect(try await Self.state(client, citizen).status == "held")
                #expect(try await Self.state(client, handler).status == "pending")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.claim_sms('q', 100, 30)") == 1)

                // A citizen message already pending (a retry, say) is held at sending time too.
                try await Self.noQuietHours(client)
                let retry = try await Self.queue(client, "13900000043")
                try await client.execute(#"UPDATE hotline.settings SET value = '["00:00", "23:59:59"]' WHERE key = 'citizen.quiet_hours'"#, logger: db.logger)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.claim_sms('q', 100, 30)") == 0)
                #expect(try await Self.state(client, retry).status == "held")
            }
        }
    }

    @Test func aWrongSignatureKeepsTheMessagesForRetry() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await Self.noQuietHours(client)
                let good = try await Self.queue(client, "13900000051")
                try await Self.withGateway(secret: "gateway-shared-secret-1") { simulator, sender in
                    _ = try await sender.step(client, db.logger)
                    #expect(try await Self.state(client, good).status == "sent", "signed with the right key")
                    #expect(simulator.received.last?.status == 200)
                }
                let refused = try await Self.queue(client, "13900000052")
                try await Self.withGateway(secret: "gateway-shared-secret-1", clientSecret: "a-wrong-secret-xyz") { _, sender in
                    _ = try await sender.step(client, db.logger)
                    let state = try await Self.state(client, refused)
                    #expect(state.status == "pending" && (state.error ?? "").contains("401"), "credentials are ops' problem, not the message's")
                }
            }
        }
    }

    @Test(arguments: [
        ("HL100", "SELECT hotline.queue_sms('no.such', '13900000001', '{}')", "an unknown template"),
        ("HL101", "SELECT hotline.queue_sms('citizen.receipt', '13900000001', '{}')", "a missing variable"),
        ("HL101", #"SELECT hotline.queue_sms('citizen.receipt', '13900000001', '{"ticket_no": "1", "extra": "x"}')"#, "an extra variable"),
        ("HL101", #"SELECT hotline.queue_sms('citizen.receipt', '13900000001', '{"ticket_no": {"a": 1}}')"#, "a variable that is not text"),
        ("HL102", #"SELECT hotline.queue_sms('citizen.receipt', '12', '{"ticket_no": "1"}')"#, "a malformed phone"),
        ("HL100", "INSERT INTO hotline.sms_templates VALUES ('x.y', 'urging', 'unit', false, 0, '工单{ticket_no}{oops}', '{ticket_no}')", "a template using an undeclared placeholder"),
        ("HL103", "SELECT * FROM hotline.claim_sms('x', 0, 30)", "a claim of nothing"),
        ("HL104", #"SELECT hotline.record_sms_results('x', '[{"id": 1, "outcome": "maybe"}]')"#, "an unknown outcome"),
        ("HL105", "SELECT hotline.resend_sms(999999, 'x')", "resending what does not exist"),
        ("HL106", "SELECT hotline.receive_sms_receipt('gw-1', 'read')", "a receipt with an unknown status"),
    ])
    func badOutboxInputIsRejectedAndChangesNothing(code: String, sql: String, what: String) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await expectRefused(client, sql, code: code, what: what,
                                        footprint: "SELECT (SELECT count(*) FROM hotline.sms_outbox) + (SELECT count(*) FROM hotline.sms_templates) + (SELECT count(*) FROM hotline.sms_receipts)")
            }
        }
    }

    @Test(arguments: [(70, 1), (71, 2), (134, 2), (135, 3)])
    func chineseMessagesCountSeventyThenSixtySevenPerPart(length: Int, segments: Int) async throws {
        let text = String(repeating: "办", count: length)
        #expect(OutboxSender.segments(text) == segments)
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                #expect(try await client.count("SELECT hotline.sms_segments(\(text))") == segments, "SQL and Swift count alike")
            }
        }
    }

    @Test func settingsRefuseAMissingGatewayOrSecret() {
        #expect(throws: ConfigurationError.self) { try SMSSettings(environment: EnvironmentReader(["HOTLINE_LINK_SECRET": "0123456789abcdef"])) }
        #expect(throws: ConfigurationError.self) { try SMSSettings(environment: EnvironmentReader(["HOTLINE_SMS_GATEWAY": "file:/tmp/x"])) }
        #expect(throws: ConfigurationError.self) {
            try SMSSettings(environment: EnvironmentReader(["HOTLINE_SMS_GATEWAY": "http", "HOTLINE_LINK_SECRET": "0123456789abcdef"]))
        }
        #expect(throws: ConfigurationError.self) {
            try SMSSettings(environment: EnvironmentReader(["HOTLINE_SMS_GATEWAY": "smtp", "HOTLINE_LINK_SECRET": "0123456789abcdef"]))
        }
        #expect(throws: Never.self) {
            try SMSSettings(environment: EnvironmentReader(["HOTLINE_SMS_GATEWAY": "http", "HOTLINE_SMS_URL": "http://127.0.0.1:9/sms",
                                                            "HOTLINE_SMS_HMAC_SECRET": "0123456789abcdef", "HOTLINE_LINK_SECRET": "0123456789abcdef"]))
        }
    }
}
