import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Shared

/// `hotline submit`: a channel's submission by hand (ops, smoke tests), or `--sample N` random
/// corpus texts from random callers (the demo's feed).
struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a ticket through hotline.submit_ticket(), or --sample N corpus texts as tickets.")
    @OptionGroup var connection: Connection
    @Option(help: "Channel code (hotline.channels).") var channel = "web"
    @Option(help: "The channel's own id for the submission (idempotency key).") var externalID: String?
    @Option(help: "The complaint text.") var content: String?
    @Option(help: "Caller phone.") var phone: String?
    @Option(help: "Submit this many random texts from --corpus instead.") var sample: Int?
    @Option(help: "Corpus for --sample.") var corpus = "data/complaints-corpus.tsv"

    func validate() throws {
        if let sample {
            guard (1...10_000).contains(sample) else { throw ValidationError("--sample must be 1–10000") }
        } else {
            guard externalID != nil, content != nil else {
                throw ValidationError("give --external-id and --content, or --sample N")
            }
        }
    }

    func run() async throws {
        let channel = self.channel, externalID = self.externalID, content = self.content, phone = self.phone
        let texts = try sample.map { count in
            let rows = try LabelledCorpus.read(path: corpus)
            guard !rows.isEmpty else { throw ValidationError("\(corpus) has no rows") }
            return (0..<count).map { _ in rows.randomElement()! }
        }
        try await connection.withClient { client, logger in
            guard let texts else {
                let row = try await client.first("""
                    SELECT ticket_id, ticket_no, created FROM hotline.submit_ticket(\(channel), \(externalID!), \(content!), \(phone))
                    """, as: (Int64, String, Bool).self, logger: logger)
                if let row { print("ticket \(row.0) (\(row.1))\(row.2 ? "" : ": already submitted")") }
                return
            }
            let stamp = Int(Date().timeIntervalSince1970 * 1000)
            for (index, row) in texts.enumerated() {
                // A random caller per ticket; a few repeat a recent caller, as real lines do.
                let caller = "139" + String(format: "%08d", Int.random(in: 0..<(index % 10 == 9 ? 50 : 99_999_999)))
                _ = try await client.first("""
                    SELECT ticket_id FROM hotline.submit_ticket(\(row.channel), \("sample-\(stamp)-\(index)"), \(row.text), \(caller))
                    """, as: Int64.self, logger: logger)
            }
            print("submitted \(texts.count) sample ticket(s)")
        }
    }
}

/// `hotline tickets`: where the tickets are — by status, waiting for a dispatcher, open
/// assignments by unit, messages waiting to be sent.
struct Tickets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Tickets by status, the dispatcher queue, open assignments, outboxes.")
    @OptionGroup var connection: Connection

    func run() async throws {
        try await connection.withClient { client, logger in
            let statuses = try await client.all("""
                SELECT status, count(*)::int, count(*) FILTER (WHERE received_at > now() - interval '1 hour')::int
                  FROM hotline.tickets GROUP BY status ORDER BY min(CASE status WHEN 'received' THEN 1 WHEN 'extracted' THEN 2
                  WHEN 'dispatched' THEN 3 WHEN 'accepted' THEN 4 ELSE 5 END), status
                """, as: (String, Int, Int).self, logger: logger)
            print(Table(["ticket status", "tickets", "received in the last hour"], statuses.map { [$0.0, "\($0.1)", "\($0.2)"] }).render())
            let waiting = try await client.all("""
                SELECT array_to_string(reasons, ','), count(*)::int FROM hotline.dispatcher_queue WHERE status = 'waiting'
                 GROUP BY 1 ORDER BY 2 DESC
                """, as: (String, Int).self, logger: logger)
            print()
            print(Table(["waiting for a dispatcher because", "tickets"], waiting.map { [$0.0, "\($0.1)"] }).render())
            let units = try await client.all("""
                SELECT unit, unit_name, count(*) FILTER (WHERE status = 'pending')::int, count(*) FILTER (WHERE status = 'accepted')::int
                  FROM hotline.open_assignments GROUP BY unit, unit_name ORDER BY count(*) DESC, unit LIMIT 10
                """, as: (String, String, Int, Int).self, logger: logger)
            print()
            print(Table(["unit", "name", "to accept", "in hand"], units.map { [$0.0, $0.1, "\($0.2)", "\($0.3)"] }).render())
            let outbox = try await client.first("""
                SELECT (SELECT count(*)::int FROM hotline.sms_outbox WHERE status = 'pending'),
                       (SELECT count(*)::int FROM hotline.linkage_records WHERE status = 'pending'),
                       (SELECT count(*)::int FROM hotline.tickets WHERE status = 'merged')
                """, as: (Int, Int, Int).self, logger: logger)
            if let outbox {
                print()
                print("SMS waiting to be sent: \(outbox.0)   110/119 linkage pending: \(outbox.1)   repeat calls linked: \(outbox.2)")
            }
        }
    }
}
