import Logging
import Metrics
import PostgresNIO
import Shared

/// The job other workers and the rule scan enqueue (through `hotline.request_escalation`) when
/// a ticket is abnormal: unsatisfied, buck-passed, long unresolved, severely overdue, urged
/// repeatedly, sensitive, or supervised without result.
struct EscalateTicket: JobPayload {
    static let kind = "ticket.escalate"
    let ticketID: Int64
    let trigger: String
    let level: Int
    enum CodingKeys: String, CodingKey { case ticketID = "ticket_id", trigger, level }
}

enum EscalateTicketHandler {
    /// A trigger code's shape; the database checks that the code exists (ops may add triggers).
    static func isTriggerCode(_ code: String) -> Bool {
        (2...63).contains(code.utf8.count) && code.utf8.first.map { (97...122).contains($0) } == true
            && code.utf8.allSatisfy { (97...122).contains($0) || $0 == 95 }
    }

    private static let opened = Counter(label: "hotline_escalations_opened_total")
    private static let alreadyOpen = Counter(label: "hotline_escalations_already_open_total")

    /// Opens the escalation in the job's transaction: the record, SMS to its recipients and the
    /// ticket event commit with the job's completion. One already open for the ticket, trigger
    /// and level is not opened twice.
    static func run(_ job: EscalateTicket, _ context: JobContext) async throws {
        guard job.ticketID > 0 else { throw JobFailure.permanent("ticket_id must be positive, got \(job.ticketID)") }
        guard (1...2).contains(job.level) else { throw JobFailure.permanent("level must be 1 or 2, got \(job.level)") }
        guard isTriggerCode(job.trigger) else {
            throw JobFailure.permanent("trigger \(job.trigger.prefix(64).debugDescription) is not a trigger code")
        }
        let payload = context.job.payloadJSON
        let actor = "escalation"
        // No such ticket (HL040) or trigger (HL084): the job can never succeed.
        let id: Int64? = try await JobFailure.permanent(onSQLStates: ["HL040", "HL084"]) {
            try await context.transaction { connection -> Int64? in
                let row = try await connection.first("""
                    SELECT hotline.open_escalation(\(job.ticketID), \(job.trigger), \(job.level)::int,
                                                   coalesce((\(payload))::jsonb -> 'details', '{}'), \(actor))
                    """, as: Int64?.self, logger: context.logger)
                return row ?? nil
            }
        }
        if let id {
            opened.increment()
            context.logger.info("escalation opened", metadata: [
                "ticket_id": "\(job.ticketID)", "trigger": "\(job.trigger)", "level": "\(job.level)", "escalation_id": "\(id)"])
        } else {
            alreadyOpen.increment()
            context.logger.debug("escalation already open", metadata: ["ticket_id": "\(job.ticketID)", "trigger": "\(job.trigger)"])
        }
    }
}
