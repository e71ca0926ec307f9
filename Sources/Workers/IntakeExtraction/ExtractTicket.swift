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
        model = "char-ngram-nb+rules"
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

enum ExtractTicketHandler {
    /// Fills in the ticket, records the 'extracted' event and hands the ticket to auto-dispatch,
    /// all in the job's own transaction (so a retry after a commit finds it done and stops).
    static func run(_ job: ExtractTicket, _ context: JobContext, model: ExtractionModel) async throws {
        let logger = context.logger
        let extractor = try await model.current(context.client, logger: logger)
        let id = job.ticketID
        try await context.transaction { connection in
            guard let ticket = try await connection.first("""
                SELECT status, content, coalesce(address, '') FROM hotline.tickets WHERE id = \(id) FOR UPDATE
                """, as: (String, String, String).self, logger: logger)
            else {
                throw JobFailure.permanent("ticket \(id) does not exist")
            }
            guard ticket.0 == "received" else {
                logger.info("ticket already past intake; nothing to do", metadata: ["ticket_id": "\(id)", "status": "\(ticket.0)"])
                return
            }
            let result = extractor.extract(content: ticket.1, address: ticket.2.isEmpty ? nil : ticket.2)
            let record = ExtractionRecord(result).json
            try await connection.execute("""
                UPDATE hotline.tickets
                   SET status = 'extracted',
                       district_id = \(result.place.districtID), street_id = \(result.place.streetID),
                       community_id = \(result.place.communityID),
                       category_id = (SELECT c.id FROM hotline.categories c WHERE c.label = \(result.category)),
                       urgency_class = \(result.urgency),
                       is_enterprise = \(result.flags.contains("enterprise")), is_sensitive = \(result.flags.contains("sensitive")),
                       caller_phone = coalesce(caller_phone, \(result.phones.first)),
                       caller_id_number = coalesce(caller_id_number, \(result.idNumbers.first)),
                       address = coalesce(address, \(result.place.address)),
                       extraction = \(record)::jsonb
                 WHERE id = \(id)
                """, logger: logger)
            try await connection.execute("""
                SELECT hotline.append_event(\(id), 'process', 'intake-extraction', 'extracted', \(record)::jsonb)
                """, logger: logger)
            let priority: Int16 = result.urgency == "emergency" ? -10 : result.urgency == "basic_livelihood" ? -5 : 0
            try await JobQueue.enqueue([
                try NewJob(queue: "auto-dispatch", kind: "ticket.dispatch", payloadJSON: #"{"ticket_id":\#(id)}"#,
                           options: JobOptions(priority: priority, uniqueKey: "ticket:\(id):dispatch")),
            ], on: connection, logger: logger)
            logger.info("ticket extracted", metadata: [
                "ticket_id": "\(id)", "urgency": "\(result.urgency)", "category": "\(result.category ?? "-")",
                "district_id": "\(result.place.districtID.map(String.init) ?? "-")",
            ])
        }
    }
}
