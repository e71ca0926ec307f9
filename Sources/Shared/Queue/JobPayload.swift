import Foundation

/// A job's typed payload. `kind` is stored in `queue.jobs.kind` and picks the handler; the
/// payload itself is stored as readable JSONB so DBAs can query it.
public protocol JobPayload: Codable, Sendable {
    /// Stable name of this kind of job, e.g. "ticket.extract". Renaming it orphans queued jobs.
    static var kind: String { get }
}

/// Options for one enqueue.
public struct JobOptions: Sendable, Equatable {
    /// Lower runs first; 0 is the default, negative is more urgent.
    public var priority: Int16
    /// Run no earlier than this delay from the database's now (nil: at once).
    public var delay: Duration?
    public var maxAttempts: Int
    /// At most one unfinished job per (queue, uniqueKey); a duplicate enqueue is a no-op.
    public var uniqueKey: String?

    public init(priority: Int16 = 0, delay: Duration? = nil, maxAttempts: Int = 20, uniqueKey: String? = nil) {
        self.priority = priority
        self.delay = delay
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
    }
}

/// A job ready to be enqueued: queue, kind and payload already encoded.
public struct NewJob: Sendable, Equatable {
    public let queue: String
    public let kind: String
    public let payloadJSON: String
    public let options: JobOptions

    public init<P: JobPayload>(queue: String, _ payload: P, options: JobOptions = JobOptions()) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(payload)
        try self.init(queue: queue, kind: P.kind, payloadJSON: String(decoding: data, as: UTF8.self), options: options)
    }

    /// An untyped job (admin tools, tests). The JSON must be an object.
    public init(queue: String, kind: String, payloadJSON: String, options: JobOptions = JobOptions()) throws {
        try JobQueue.validate(queue: queue)
        guard !kind.isEmpty, kind.count <= 128 else {
            throw QueueError(.invalidJob, "job kind must be 1...128 characters, got \(kind.count)")
        }
        guard (1...1000).contains(options.maxAttempts) else {
            throw QueueError(.invalidJob, "maxAttempts must be 1...1000, got \(options.maxAttempts)")
        }
        self.queue = queue
        self.kind = kind
        self.payloadJSON = payloadJSON
        self.options = options
    }
}

/// Decodes payloads the way `NewJob` encodes them.
enum PayloadCoding {
    static func decode<P: JobPayload>(_ type: P.Type, from json: String) throws -> P {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(P.self, from: Data(json.utf8))
    }
}
