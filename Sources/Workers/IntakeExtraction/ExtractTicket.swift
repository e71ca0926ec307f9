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
    /// Fills in tickets and hands them on, in groups (see `GroupCommit`): the tickets are read
    /// and extracted here, then `hotline.record_extractions()` writes the group in one statement
    /// and one transaction: it locks the callers (so two groups holding calls of one caller take
    /// turns) and the tickets, stores each extraction through `hotline.record_extraction()`
    /// (logs 'extracted', then links a repeat call to its open ticket or enqueues auto-dispatch),
    /// and completes the group's jobs. A ticket another transaction moved past intake since the
    /// read comes back 'skipped' (record_extraction checks under the lock); so does a retry after
    /// a commit.
    static func group() -> GroupCommit<(ticketID: Int64, extractor: Extractor), String> {
        GroupCommit(maxBatch: 32) { group in
            let tickets = try await group.client.all("""
                SELECT t.id, t.status, t.content, coalesce(t.address, '') FROM hotline.tickets t
                 WHERE t.id = ANY(\(group.items.map(\.ticketID))::bigint[])
                """, as: (Int64, String, String, String).self, logger: group.logger)
            let byID = Dictionary(tickets.map { ($0.0, $0) }, uniquingKeysWith: { first, _ in first })
            var outcomes: [String?] = []
            var records: [RecordedExtraction] = []
            for (id, extractor) in group.items {
                guard let ticket = byID[id] else { throw JobFailure.permanent("ticket \(id) does not exist") }
                guard ticket.1 == "received", !records.contains(where: { $0.ticketID == id }) else {
                    outcomes.append("skipped")
                    continue
                }
                records.append(RecordedExtraction(ticketID: id, extractor.extract(content: ticket.2, address: ticket.3.isEmpty ? nil : ticket.3)))
                outcomes.append(nil)
            }
            let written = try await group.client.first("""
                SELECT outcomes, wakeups
                  FROM hotline.record_extractions(\(group.owner), \(group.jobIDs.map(\.rawValue))::bigint[], \(try JSONText.encode(records))::jsonb)
                """, as: ([String], [String]).self, logger: group.logger)
            var recorded = (written?.0 ?? [])[...]
            for index in outcomes.indices where outcomes[index] == nil { outcomes[index] = recorded.popFirst() ?? "skipped" }
            return GroupWrite(outcomes: outcomes.map { .done($0 ?? "skipped") }, wakeups: written?.1 ?? [])
        }
    }

    static func run(_ job: ExtractTicket, _ context: JobContext, model: ExtractionModel,
                    group: GroupCommit<(ticketID: Int64, extractor: Extractor), String>) async throws {
        let extractor = try await model.value(context.client, logger: context.logger)
        let outcome = try await group.run((job.ticketID, extractor), context)
        context.logger.info("ticket extracted", metadata: ["ticket_id": "\(job.ticketID)", "outcome": "\(outcome)"])
    }
}
