public import Logging
public import PostgresNIO
import Synchronization

/// What a worker process does: the queue it serves, how many jobs it runs at once, how it
/// retries, and a handler per job kind. The runtime (`WorkerRuntime`) does the rest.
public struct Worker: Sendable {
    /// The worker kind, e.g. "intake-extraction"; names the process in logs and `queue.workers`.
    public let name: String
    public let queue: String
    /// Default jobs in flight per process (HOTLINE_CONCURRENCY overrides).
    public var concurrency: Int
    /// Default PostgreSQL connections per process (HOTLINE_DB_POOL_SIZE overrides); nil: one
    /// per job in flight plus four for the runtime. A worker whose jobs share transactions
    /// (`GroupCommit`) needs only its group transactions' connections however many jobs wait.
    public var connections: Int?
    public var retry: RetryPolicy
    /// Runs once before the first claim (training a model, loading rules): a process that is not
    /// ready claims nothing, so jobs wait for a ready worker instead of under a cold one's lease,
    /// and `/healthz` says `starting` until it is done. Retried with backoff while it fails.
    public var warmUp: (@Sendable (PostgresClient, Logger) async throws -> Void)?
    private(set) var handlers: [String: ErasedHandler] = [:]

    public init(name: String, queue: String, concurrency: Int = 8, connections: Int? = nil, retry: RetryPolicy = RetryPolicy()) throws {
        try JobQueue.validate(queue: queue)
        self.name = name
        self.queue = queue
        self.concurrency = max(1, concurrency)
        self.connections = connections.map { max(2, $0) }
        self.retry = retry
    }

    /// The job kinds this worker handles.
    public var kinds: [String] { handlers.keys.sorted() }

    /// Registers the handler for one job kind. A second handler for the same kind is refused at
    /// start-up rather than silently replacing the first.
    public mutating func register<P: JobPayload>(
        _ type: P.Type, handler: @escaping @Sendable (P, JobContext) async throws -> Void
    ) throws {
        guard handlers[P.kind] == nil else {
            throw QueueError(.duplicateHandler, "worker \(name) already has a handler for job kind \(P.kind)")
        }
        handlers[P.kind] = ErasedHandler { json, context in
            let payload: P
            do {
                payload = try PayloadCoding.decode(P.self, from: json)
            } catch {
                throw QueueError(.payloadDecodingFailed,
                                 "payload of \(P.kind) does not decode: \(Self.describeDecoding(error))", jobID: context.job.id)
            }
            try await handler(payload, context)
        }
    }

    static func describeDecoding(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing field '\(context.codingPath.map(\.stringValue).appending(key.stringValue).joined(separator: "."))'"
        case DecodingError.typeMismatch(let type, let context):
            return "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' is not \(type)"
        case DecodingError.valueNotFound(let type, let context):
            return "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' is null, expected \(type)"
        case DecodingError.dataCorrupted(let context):
            return "corrupted at '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        default:
            return String(describing: error)
        }
    }
}

private extension Array {
    func appending(_ element: Element) -> [Element] { self + [element] }
}

struct ErasedHandler: Sendable {
    let run: @Sendable (String, JobContext) async throws -> Void
}

/// Per-job state shared between the handler and the runtime.
final class JobTracker: Sendable {
    private struct State {
        var leaseLost = false
        var completedInTransaction = false
    }
    private let state = Mutex(State())

    var leaseLost: Bool { state.withLock { $0.leaseLost } }
    var completedInTransaction: Bool { state.withLock { $0.completedInTransaction } }
    func markLeaseLost() { state.withLock { $0.leaseLost = true } }
    func markCompletedInTransaction() { state.withLock { $0.completedInTransaction = true } }
}

/// What a handler gets besides its payload.
public struct JobContext: Sendable {
    public let job: ClaimedJob
    /// Carries job_id, queue, job_kind and attempt in its metadata.
    public let logger: Logger
    /// For reads. A write run here as a lone statement is reported done (at CommandComplete)
    /// before it commits (at Sync), so a crash in between loses a write the handler saw succeed:
    /// write in `transaction`.
    public let client: PostgresClient
    /// This process's lease owner name.
    public let owner: String
    let tracker: JobTracker

    /// True once the runtime learned this worker no longer holds the job (lease reaped after
    /// an outage, or the job was cancelled). Long handlers should check it and stop.
    public var isLeaseLost: Bool { tracker.leaseLost }

    /// Runs `body` in a transaction that also completes this job: the handler's writes and the
    /// job's completion commit together, or neither does. If the lease was lost meanwhile the
    /// transaction rolls back with `QueueError.leaseLost`, so work is never done twice by two
    /// lease holders. Use this for every step that changes the database.
    public func transaction<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        let result = try await JobQueue.jobTransaction(client: client, owner: owner, ids: [job.id], logger: logger, body)
        tracker.markCompletedInTransaction()
        return result
    }
}
