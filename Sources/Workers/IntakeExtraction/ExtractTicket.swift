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
    /// Fills in tickets and hands them on, in group transactions (see `GroupCommit`): the
    /// tickets are locked in one statement, extracted here, and `hotline.record_extraction()`
    /// stores each, logs 'extracted', and either links a repeat call to its open ticket or
    /// enqueues auto-dispatch; the jobs complete in the same transaction. A retry after a commit
    /// finds the ticket past intake and does nothing.
    static func group() -> GroupCommit<(ticketID: Int64, extractor: Extractor), String> {
        GroupCommit(maxBatch: 32) { connection, items, logger in
            let tickets = try await connection.all("""
                SELECT id, status, content, coalesce(address, '') FROM hotline.tickets
                 WHERE id = ANY(\(items.map(\.ticketID))::bigint[]) ORDER BY id FOR UPDATE
                """, as: (Int64, String, String, String).self, logger: logger)
            let byID = Dictionary(tickets.map { ($0.0, $0) }, uniquingKeysWith: { first, _ in first })
            var outcomes: [String] = []
            for (id, extractor) in items {
                guard let ticket = byID[id] else { throw JobFailure.permanent("ticket \(id) does not exist") }
                guard ticket.1 == "received" else {
                    outcomes.append("skipped")
                    continue
                }
                let result = extractor.extract(content: ticket.2, address: ticket.3.isEmpty ? nil : ticket.3)
                let outcome = try await connection.first("""
                    SELECT outcome FROM hotline.record_extraction(
                        \(id), \(result.place.districtID)::int, \(result.place.streetID)::int, \(result.place.communityID)::int,
                        \(result.category)::text, \(result.urgency), \(result.flags.contains("enterprise")), \(result.flags.contains("sensitive")),
                        \(result.phones.first)::text, \(result.idNumbers.first)::text, \(result.place.address)::text,
                        \(ExtractionRecord(result).json)::jsonb)
                    """, as: String.self, logger: logger) ?? "skipped"
                outcomes.append(outcome)
            }
            return outcomes
        }
    }

    static func run(_ job: ExtractTicket, _ context: JobContext, model: ExtractionModel,
                    group: GroupCommit<(ticketID: Int64, extractor: Extractor), String>) async throws {
        let extractor = try await model.current(context.client, logger: context.logger)
        let outcome = try await group.run((job.ticketID, extractor), context)
        context.logger.info("ticket extracted", metadata: ["ticket_id": "\(job.ticketID)", "outcome": "\(outcome)"])
    }
}
