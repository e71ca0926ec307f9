import Logging
import Metrics
import PostgresNIO
import Shared

/// A closed round's callback is due (enqueued by the close, delayed and out of quiet hours).
struct CallbackDue: JobPayload {
    static let kind = "ticket.callback"
    let ticketID: Int64
    let round: Int
    enum CodingKeys: String, CodingKey { case ticketID = "ticket_id", round }
}

/// A survey's reply window closed.
struct SurveyTimeout: JobPayload {
    static let kind = "survey.timeout"
    let surveyID: Int64
    enum CodingKeys: String, CodingKey { case surveyID = "survey_id" }
}

/// An inbound SMS matched to an open survey, to be read.
struct SurveyReply: JobPayload {
    static let kind = "sms.reply"
    let inboundID: Int64
    enum CodingKeys: String, CodingKey { case inboundID = "inbound_id" }
}

enum CallbackJobs {
    private static let surveys = Counter(label: "hotline_callback_surveys_sent_total")
    private static func readings(_ outcome: String) -> Counter {
        Counter(label: "hotline_callback_replies_total", dimensions: [("outcome", outcome)])
    }

    static func register(on worker: inout Worker, parser: ReplyParser = ReplyParser()) throws {
        try worker.register(CallbackDue.self) { job, context in try await send(job, context) }
        try worker.register(SurveyTimeout.self) { job, context in try await timeout(job, context) }
        try worker.register(SurveyReply.self) { job, context in try await read(job, context, parser: parser) }
    }

    /// Sends the survey SMS (or queues a phone callback when the caller left no number).
    static func send(_ job: CallbackDue, _ context: JobContext) async throws {
        guard job.ticketID > 0, job.round > 0 else { throw JobFailure.permanent("ticket_id and round must be positive") }
        let survey = try await JobFailure.permanent(onSQLStates: missing) {
            try await context.transaction { connection -> Int64? in
                let row = try await connection.first("SELECT hotline.send_callback_survey(\(job.ticketID), \(job.round)::int)",
                                                     as: Int64?.self, logger: context.logger)
                return row ?? nil
            }
        }
        if survey != nil { surveys.increment() }
    }

    static func timeout(_ job: SurveyTimeout, _ context: JobContext) async throws {
        guard job.surveyID > 0 else { throw JobFailure.permanent("survey_id must be positive") }
        let outcome = try await JobFailure.permanent(onSQLStates: missing) {
            try await context.transaction { connection in
                try await connection.first("SELECT hotline.callback_timeout(\(job.surveyID))", as: String.self, logger: context.logger)
            }
        }
        if outcome != "answered" { readings("no_reply").increment() }
    }

    /// Reads one reply. A reply to a survey already answered (a second message, or the
    /// operator was quicker) is kept as read and changes nothing.
    static func read(_ job: SurveyReply, _ context: JobContext, parser: ReplyParser) async throws {
        guard job.inboundID > 0 else { throw JobFailure.permanent("inbound_id must be positive") }
        let outcome = try await JobFailure.permanent(onSQLStates: missing) {
            try await context.transaction { connection -> String in
                // The ticket first, as every function that changes a survey does: two replies
                // (or a reply and an operator) then see each other's result instead of failing.
                try await connection.execute("SELECT hotline.lock_reply_ticket(\(job.inboundID))", logger: context.logger)
                guard let row = try await connection.first("""
                    SELECT i.body, i.survey_id, s.status FROM hotline.sms_inbound i
                      JOIN hotline.callback_surveys s ON s.id = i.survey_id
                     WHERE i.id = \(job.inboundID) AND i.status = 'new' FOR UPDATE OF i
                    """, as: (String, Int64, String).self, logger: context.logger) else { return "gone" }
                let (body, survey, status) = row
                let outcome: String
                if status != "sent" {
                    outcome = "late"
                } else {
                    switch parser.read(body) {
                    case .answer(let resolved, let satisfaction):
                        _ = try await connection.first("""
                            SELECT hotline.record_callback(\(survey), \(resolved), \(satisfaction?.rawValue), \(body), 'sms')
                            """, as: Int.self, logger: context.logger)
                        outcome = "answer"
                    case .unclear(let why):
                        try await connection.execute("SELECT hotline.callback_unclear(\(survey), \(body), \(why))", logger: context.logger)
                        outcome = "unclear"
                    }
                }
                try await connection.execute("UPDATE hotline.sms_inbound SET status = 'read' WHERE id = \(job.inboundID)", logger: context.logger)
                return outcome
            }
        }
        readings(outcome).increment()
        context.logger.debug("survey reply read", metadata: ["inbound_id": "\(job.inboundID)", "outcome": "\(outcome)"])
    }

    /// No such ticket or survey, or an answer that says nothing: such a job can never succeed.
    private static let missing: Set<String> = ["HL040", "HL093", "HL094"]
}
