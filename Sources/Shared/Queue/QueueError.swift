/// An error from the queue engine, with a stable code and the context logs need.
public struct QueueError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable {
            case invalidJob, invalidQueueName, invalidArgument, unknownJobKind, payloadDecodingFailed, leaseLost, duplicateHandler, groupMismatch
        }
        fileprivate let base: Base
        /// A job that cannot be enqueued as given (bad kind, options or payload).
        public static var invalidJob: Code { Code(base: .invalidJob) }
        public static var invalidQueueName: Code { Code(base: .invalidQueueName) }
        /// An operation's argument is out of range (an empty pause reason, …).
        public static var invalidArgument: Code { Code(base: .invalidArgument) }
        /// A group-commit body returned a different number of results than it got jobs.
        public static var groupMismatch: Code { Code(base: .groupMismatch) }
        /// A claimed job whose kind no handler of this worker knows.
        public static var unknownJobKind: Code { Code(base: .unknownJobKind) }
        /// A claimed job whose payload does not decode into its kind's type.
        public static var payloadDecodingFailed: Code { Code(base: .payloadDecodingFailed) }
        /// This worker no longer holds the job (its lease expired and was reaped, or it was cancelled).
        public static var leaseLost: Code { Code(base: .leaseLost) }
        public static var duplicateHandler: Code { Code(base: .duplicateHandler) }
        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    public let jobID: JobID?

    public init(_ code: Code, _ message: String, jobID: JobID? = nil) {
        self.code = code
        self.message = message
        self.jobID = jobID
    }

    public var description: String {
        "queue error [\(code)]\(jobID.map { " job \($0)" } ?? ""): \(message)"
    }
}

/// What a handler throws to steer the retry: anything else is an ordinary failure that is
/// retried by the worker's retry policy.
public struct JobFailure: Error, CustomStringConvertible, Sendable {
    enum Disposition: Sendable { case permanent, retry(after: Duration) }
    let disposition: Disposition
    public let reason: String

    /// The job can never succeed (bad payload, missing record): it goes dead at once with this reason.
    public static func permanent(_ reason: String) -> JobFailure { JobFailure(disposition: .permanent, reason: reason) }
    /// Retry after exactly this delay (e.g. a gateway's Retry-After), still counting the attempt.
    public static func retry(after delay: Duration, _ reason: String) -> JobFailure {
        JobFailure(disposition: .retry(after: delay), reason: reason)
    }
    public var description: String { reason }
}

extension JobFailure {
    /// Runs `body`; a database error whose SQLSTATE is in `states` (the job names something that
    /// does not exist, or asks what can never be valid) fails the job for good instead of retrying.
    public static func permanent<R: Sendable>(onSQLStates states: Set<String>, _ body: () async throws -> R) async throws -> R {
        do {
            return try await body()
        } catch let error as DatabaseError where states.contains(error.sqlState ?? "") {
            throw JobFailure.permanent(error.message)
        }
    }
}
