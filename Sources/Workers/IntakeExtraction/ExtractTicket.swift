import Foundation
import Logging
import PostgresNIO
import Shared

/// The job `hotline.submit_ticket()` enqueues for every new ticket.
struct ExtractTicket: JobPayload {
    static let kind = "ticket.extract"
    let ticketID: Int64
    enum CodingKeys: String, CodingKey { case ticketID = "ticket_id" }
}

/// What the extraction decided, stored in `hotline.tickets.extraction` (no PII: the phone and
/// ID numbers themselves go to their own columns, which read-only views mask).
struct ExtractionRecord: Codable, Equatable {
    var phonesFound: Int
    var idNumbersFound: Int
    var placeConfidence: Double
    var category: String?
    var categoryConfidence: Double
    var urgency: String
    var urgencyConfidence: Double
    var flags: [String]
    var rules: [String]
    var kbArticles: [String]
    var model: String

    init(_ extraction: Extraction) {
        phonesFound = extraction.phones.count
        idNumbersFound = extraction.idNumbers.count
        placeConfidence = extraction.place.confidence
        category = extraction.category
        categoryConfidence = (extraction.categoryConfidence * 1000).rounded() / 1000
        urgency = extraction.urgency
        urgencyConfidence = extraction.urgencyConfidence
        flags = extraction.flags.sorted()
        rules = extraction.matchedRules
        kbArticles = extraction.articles
        model = "char-ngram-svm+rules"
    }

}

/// One ticket's arguments to `hotline.record_extraction()`, as the group's jsonb array holds them.
struct RecordedExtraction: Encodable {
    var ticketID: Int64
    var districtID: Int?
    var streetID: Int?
    var communityID: Int?
    var category: String?
    var urgency: String
    var enterprise: Bool
    var sensitive: Bool
    var phone: String?
    var idNumber: String?
    var address: String?
    var extraction: ExtractionRecord

    enum CodingKeys: String, CodingKey {
        case ticketID = "ticket_id", districtID = "district_id", streetID = "street_id", communityID = "community_id"
        case category, urgency, enterprise, sensitive, phone, idNumber = "id_number", address, extraction
    }

    init(ticketID: Int64, _ result: Extraction) {
        self.ticketID = ticketID
        districtID = result.place.districtID
        streetID = result.place.streetID
        communityID = result.place.communityID
        category = result.category
        urgency = result.urgency
        enterprise = result.flags.contains("enterprise")
        sensitive = result.flags.contains("sensitive")
        phone = result.phones.first
        idNumber = result.idNumbers.first
        address = result.place.address
        extraction = ExtractionRecord(result)
    }
}

enum ExtractTicketHandler {
    /// Fills in tickets and hands them on, in group transactions (see `GroupCommit`): the
    /// tickets are read and extracted here, locked, and `hotline.record_extraction()`
    /// stores each, logs 'extracted', and either links a repeat call to its open ticket or
    /// enqueues auto-dispatch; the jobs complete in the same transaction. A retry after a commit
    /// finds the ticket past intake and does nothing.
    static func group() -> GroupCommit<(ticketID: Int64, extractor: Extractor), String> {
        GroupCommit(maxBatch: 32, bodyDefersWakeups: true) { connection, items, logger in
            // Read and extract first, then lock: the callers (so two groups holding calls of one
            // caller take turns, see hotline.lock_callers), then the tickets, both in a fixed
            // order so groups cannot deadlock. A ticket another transaction moved past intake
            // meanwhile comes back 'skipped' from record_extraction, which checks under the lock.
            // The read also defers the transaction's wake-ups until after its commit (GroupCommit above).
            let tickets = try await connection.all("""
                SELECT t.id, t.status, t.content, coalesce(t.address, '') FROM queue.defer_wakeups() d, hotline.tickets t
                 WHERE t.id = ANY(\(items.map(\.ticketID))::bigint[]) ORDER BY t.id
                """, as: (Int64, String, String, String).self, logger: logger)
            let byID = Dictionary(tickets.map { ($0.0, $0) }, uniquingKeysWith: { first, _ in first })
            // Extract here, then record the whole group in one statement (one call of the SQL
            // contract per ticket, one round trip per group).
            var outcomes: [String?] = []
            var records: [RecordedExtraction] = []
            for (id, extractor) in items {
                guard let ticket = byID[id] else { throw JobFailure.permanent("ticket \(id) does not exist") }
                guard ticket.1 == "received", !records.contains(where: { $0.ticketID == id }) else {
                    outcomes.append("skipped")
                    continue
                }
                records.append(RecordedExtraction(ticketID: id, extractor.extract(content: ticket.2, address: ticket.3.isEmpty ? nil : ticket.3)))
                outcomes.append(nil)
            }
            if !records.isEmpty {
                // The callers, then the tickets (through a function, so the worker's role needs no
                // UPDATE right on tickets), in one round trip.
                _ = try await connection.first("""
                    SELECT hotline.lock_callers(\(records.map(\.ticketID))::bigint[], \(records.map { $0.phone ?? "" })::text[])
                    """, as: Int.self, logger: logger)
                var recorded = try await connection.all("""
                    SELECT r.outcome FROM jsonb_array_elements(\(try JSONText.encode(records))::jsonb) WITH ORDINALITY AS i(x, n),
                           LATERAL hotline.record_extraction(
                               (x->>'ticket_id')::bigint, (x->>'district_id')::int, (x->>'street_id')::int, (x->>'community_id')::int,
                               x->>'category', x->>'urgency', (x->>'enterprise')::boolean, (x->>'sensitive')::boolean,
                               x->>'phone', x->>'id_number', x->>'address', x->'extraction') r
                     ORDER BY i.n
                    """, as: String.self, logger: logger)[...]
                for index in outcomes.indices where outcomes[index] == nil { outcomes[index] = recorded.popFirst() ?? "skipped" }
            }
            return outcomes.map { $0 ?? "skipped" }
        }
    }

    static func run(_ job: ExtractTicket, _ context: JobContext, model: ExtractionModel,
                    group: GroupCommit<(ticketID: Int64, extractor: Extractor), String>) async throws {
        let extractor = try await model.value(context.client, logger: context.logger)
        let outcome = try await group.run((job.ticketID, extractor), context)
        context.logger.info("ticket extracted", metadata: ["ticket_id": "\(job.ticketID)", "outcome": "\(outcome)"])
    }
}
