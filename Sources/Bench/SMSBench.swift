import Foundation
import GatewaySimulator
import Logging
import PostgresNIO
import Shared

/// The sms section: messages/s from the outbox through the real sms-notify release binaries to
/// a local HTTP JSON gateway (`GatewaySimulator`, in this process), which replies at once — so
/// the gateway is not the limit. Messages go to units (no quiet hours or citizens' caps), at
/// numbers ending 5000–8999, which the simulator always accepts.
extension Bench {
    func sms(into report: inout Report) async throws {
        let count = quick ? 5_000 : 20_000
        let gateway = try await GatewaySimulator.start()
        do {
            try await smsRuns(count: count, gateway: gateway, into: &report)
            await gateway.stop()
        } catch {
            await gateway.stop()
            throw error
        }
    }

    private func smsRuns(count: Int, gateway: GatewaySimulator, into report: inout Report) async throws {
        // Earlier sections (dispatch, timers) leave their own messages in the outbox: this section
        // measures its 20,000 alone (a full run once had the first sender carry 92,000 more).
        try await client.execute("DELETE FROM hotline.sms_outbox", logger: logger)
        for processes in [1, 2] {
            note("sms: \(count) messages, \(processes) sms-notify process(es)")
            var workers: [ChildProcess] = []
            defer { for worker in workers { worker.signal(SIGKILL) } }
            for index in 0..<processes {
                workers.append(try spawn(sibling: "sms-notify", arguments: [], log: "bench-sms-\(processes)-\(index).log", environment: [
                    "HOTLINE_SMS_GATEWAY": "http", "HOTLINE_SMS_URL": gateway.url, "HOTLINE_SMS_AUTH_HEADER": "Authorization: Bearer bench",
                    "HOTLINE_LINK_SECRET": "benchmark-link-secret-0123", "HOTLINE_SMS_BATCH": "200", "HOTLINE_SMS_CONCURRENCY": "64",
                ]))
            }
            try await Task.sleep(for: .seconds(2))
            let before = gateway.received.count
            let start = ContinuousClock.now
            try await client.execute("""
                INSERT INTO hotline.sms_outbox (unit_id, phone, template, variables)
                SELECT (SELECT id FROM hotline.handling_units WHERE code = 'XA-CGJ'), '1380001' || (5000 + g % 4000), 'sla.urging',
                       jsonb_build_object('unit', '西安市城市管理和综合执法局', 'ticket_no', '20261125-' || lpad(g::text, 6, '0'),
                                          'what', '反馈', 'due', '11-25 18:00')
                  FROM generate_series(1, \(count)) g
                """, logger: logger)
            let deadline = ContinuousClock.now + .seconds(600)
            while try await client.first("SELECT count(*)::int FROM hotline.sms_outbox WHERE status IN ('pending', 'sending', 'held')",
                                         as: Int.self, logger: logger) ?? 0 > 0 {
                guard ContinuousClock.now < deadline else { throw BenchError("sms: messages not all sent in 10 minutes") }
                try await Task.sleep(for: .milliseconds(50))
            }
            let seconds = (ContinuousClock.now - start).seconds
            let delivered = gateway.received.count - before
            let failed = try await client.first("SELECT count(*)::int FROM hotline.sms_outbox WHERE status NOT IN ('sent', 'delivered')",
                                                as: Int.self, logger: logger) ?? 0
            report.add("sms", "messages/s, outbox → gateway, \(processes) sms-notify process\(processes > 1 ? "es" : "")",
                       Self.rate(Double(count) / seconds),
                       "\(count.formatted()) messages inserted in one statement until the last is recorded sent; the gateway got \(delivered.formatted()), \(failed) not sent; batch 200, 64 requests in flight per process; target ≥ 2,000")
            for worker in workers { worker.signal(SIGTERM) }
            for worker in workers { _ = await worker.wait(timeout: .seconds(30)) }
            try await client.execute("DELETE FROM hotline.sms_outbox", logger: logger)
        }
    }
}
