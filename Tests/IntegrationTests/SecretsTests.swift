import Foundation
import GatewaySimulator
import PostgresNIO
import Shared
import Testing

/// Secrets come from the environment or from files (`NAME_FILE`), and never reach a log, even
/// at trace level: a real sms-notify process sends a message with secrets read from files and a
/// password in its DATABASE_URL, and its whole output is searched for them.
@Suite("Secrets")
struct SecretsTests {
    @Test func secretsFromFilesAreUsedAndNeverLogged() async throws {
        try await TestDatabase.with { db in
            let gateway = try await GatewaySimulator.start()
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("secrets-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let linkSecret = "link-\(UUID().uuidString)"
            let bearer = "bearer-\(UUID().uuidString)"
            let password = "pw-\(UUID().uuidString)"
            try linkSecret.write(to: folder.appendingPathComponent("link"), atomically: true, encoding: .utf8)
            try "Authorization: Bearer \(bearer)\n".write(to: folder.appendingPathComponent("auth"), atomically: true, encoding: .utf8)
            // The test server trusts local logins, so the password is never asked for: it must
            // still never be printed.
            var url = db.url
            url.password = password
            try url.urlString.write(to: folder.appendingPathComponent("db"), atomically: true, encoding: .utf8)

            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = nil
            environment["DATABASE_URL_FILE"] = folder.appendingPathComponent("db").path
            environment["HOTLINE_LINK_SECRET_FILE"] = folder.appendingPathComponent("link").path
            environment["HOTLINE_SMS_AUTH_HEADER_FILE"] = folder.appendingPathComponent("auth").path
            environment["HOTLINE_SMS_GATEWAY"] = "http"
            environment["HOTLINE_SMS_URL"] = gateway.url
            environment["HOTLINE_HTTP_PORT"] = "off"
            environment["HOTLINE_LOG_LEVEL"] = "trace"
            environment["HOTLINE_SMS_IDLE_SECONDS"] = "0.5"
            let log = folder.appendingPathComponent("sms-notify.log").path
            let worker = try ChildProcess(executable: ProbeProcess.productsDirectory.appendingPathComponent("sms-notify").path,
                                          arguments: [], environment: environment, outputPath: log)
            do {
                try await db.withClient { client in
                    // To a unit: a citizen's message may be held for the night.
                    try await client.execute("""
                        INSERT INTO hotline.sms_outbox (unit_id, phone, template, variables)
                        SELECT id, '13800015000', 'sla.urging',
                               '{"unit": "城管局", "ticket_no": "20261205-000001", "what": "反馈", "due": "12-05 18:00"}'
                          FROM hotline.handling_units WHERE code = 'XA-CGJ'
                        """, logger: db.logger)
                    try await eventually("the message is sent", timeout: .seconds(60)) {
                        try await client.count("SELECT count(*)::int FROM hotline.sms_outbox WHERE status = 'sent'") == 1
                    }
                }
                worker.signal(SIGTERM)
                #expect(await worker.wait(timeout: .seconds(30)) == .exited(0))
            } catch {
                worker.signal(SIGKILL)
                _ = await worker.wait(timeout: .seconds(10))
                await gateway.stop()
                throw error
            }
            await gateway.stop()
            #expect(gateway.received.count == 1)
            let output = try String(contentsOfFile: log, encoding: .utf8)
            #expect(output.contains("trace") || output.count > 200, "the worker logged at trace level: \(output.prefix(500))")
            for secret in [linkSecret, bearer, password] {
                #expect(!output.contains(secret), "a secret reached the log")
            }
        }
    }
}
