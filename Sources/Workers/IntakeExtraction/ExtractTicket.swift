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
        model = "char-ngram-centroid+rules"
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

enum ExtractTicketHandler {
    /// Fills in the ticket and hands it on, all in the job's own transaction: the ticket's
    /// content is read under a row lock, extracted here, and `hotline.record_extraction()`
    /// stores it, logs 'extracted', and either links a repeat call to its open ticket or
    /// enqueues auto-dispatch. A retry after a commit finds the ticket past intake and stops.
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
            let outcome = try await connection.first("""
                SELECT outcome, merged_into FROM hotline.record_extraction(
                    \(id), \(result.place.districtID)::int, \(result.place.streetID)::int, \(result.place.communityID)::int,
                    \(result.category)::text, \(result.urgency), \(result.flags.contains("enterprise")), \(result.flags.contains("sensitive")),
                    \(result.phones.first)::text, \(result.idNumbers.first)::text, \(result.place.address)::text,
                    \(ExtractionRecord(result).json)::jsonb)
                """, as: (String, Int64?).self, logger: logger)
            logger.info("ticket extracted", metadata: [
                "ticket_id": "\(id)", "urgency": "\(result.urgency)", "category": "\(result.category ?? "-")",
                "district_id": "\(result.place.districtID.map(String.init) ?? "-")", "outcome": "\(outcome?.0 ?? "-")",
                "merged_into": "\(outcome?.1.map(String.init) ?? "-")",
            ])
        }
    }
}
