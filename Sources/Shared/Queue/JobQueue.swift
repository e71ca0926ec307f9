public import Foundation
public import Logging
public import PostgresNIO

/// The queue engine's SQL API: enqueue, claim, complete, fail, release, lease upkeep and
/// maintenance. Every statement is one round trip and works on batches where it can.
/// Knows nothing about tickets.
public struct JobQueue: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// What enqueue did with one job.
    public struct Enqueued: Sendable, Equatable {
        /// The new job, or for a duplicate the unfinished job already holding the unique key
        /// (nil if that one finished in the meantime).
        public let id: JobID?
        /// True when a job with the same (queue, unique key) was already waiting: nothing was added.
        public let duplicate: Bool
    }

    static func validate(queue: String) throws {
        let ok = (1...63).contains(queue.utf8.count)
            && queue.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 46 || $0 == 45 }
            && queue.utf8.first.map { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) } == true
        guard ok else {
            throw QueueError(.invalidQueueName, "queue name '\(queue.prefix(80))' must be 1...63 of a-z 0-9 _ . - starting with a letter or digit")
        }
    }

    // MARK: enqueue

    /// Enqueues jobs in their own transaction (one statement, one commit).
    @discardableResult
    public func enqueue(_ jobs: [NewJob]) async throws -> [Enqueued] {
        try await Self.enqueue(jobs, on: client, logger: logger)
    }

    @discardableResult
    public func enqueue(_ job: NewJob) async throws -> Enqueued {
        try await enqueue([job])[0]
    }

    /// Enqueues jobs on `runner`: pass the connection of your own transaction so a ticket change
    /// and its follow-up jobs commit together (or not at all).
    @discardableResult
    public static func enqueue(_ jobs: [NewJob], on runner: some SQLRunner, logger: Logger) async throws -> [Enqueued] {
        guard !jobs.isEmpty else { return [] }
        let queues = jobs.map(\.queue)
        let kinds = jobs.map(\.kind)
        let payloads = jobs.map(\.payloadJSON)
        let priorities = jobs.map(\.options.priority)
        let delays = jobs.map { $0.options.delay?.seconds ?? 0 }
        let attempts = jobs.map { Int32($0.options.maxAttempts) }
        let keys = jobs.map { $0.options.uniqueKey ?? "" }
        let rows = try await runner.all("""
            WITH input AS (
                SELECT nextval(pg_get_serial_sequence('queue.jobs', 'id')) AS id, t.*
                  FROM unnest(\(queues)::text[], \(kinds)::text[], \(payloads)::text[], \(priorities)::int2[],
                              \(delays)::float8[], \(attempts)::int4[], \(keys)::text[])
                       WITH ORDINALITY AS t(queue, kind, payload, priority, delay, max_attempts, unique_key, ord)
            ), inserted AS (
                INSERT INTO queue.jobs (id, queue, kind, payload, status, priority, run_at, max_attempts, unique_key)
                SELECT i.id, i.queue, i.kind, i.payload::jsonb,
                       CASE WHEN i.delay > 0 THEN 'scheduled' ELSE 'available' END,
                       i.priority, now() + make_interval(secs => greatest(i.delay, 0)), i.max_attempts,
                       nullif(i.unique_key, '')
                  FROM input i ORDER BY i.ord
                ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL DO NOTHING
                RETURNING id
            )
            SELECT i.id, (n.id IS NOT NULL) FROM input i LEFT JOIN inserted n ON n.id = i.id ORDER BY i.ord
            """, as: (Int64, Bool).self, logger: logger)
        var result = rows.map { Enqueued(id: $0.1 ? JobID($0.0) : nil, duplicate: !$0.1) }
        let duplicates = result.indices.filter { result[$0].duplicate }
        if !duplicates.isEmpty {
            // A new statement sees the rows that won the unique key, committed by others meanwhile.
            let existing = try await runner.all("""
                SELECT j.queue, j.unique_key, j.id FROM queue.jobs j
                  JOIN unnest(\(duplicates.map { queues[$0] })::text[], \(duplicates.map { keys[$0] })::text[]) AS d(queue, unique_key)
                    ON j.queue = d.queue AND j.unique_key = d.unique_key
                """, as: (String, String, Int64).self, logger: logger)
            var byKey: [String: Int64] = [:]
            for (queue, key, id) in existing { byKey[queue + "\u{0}" + key] = id }
            for index in duplicates {
                result[index] = Enqueued(id: byKey[queues[index] + "\u{0}" + keys[index]].map(JobID.init), duplicate: true)
            }
        }
        return result
    }

    // MARK: the worker's side

    /// Claims up to `limit` runnable jobs of `queue` for `owner`, leased for `lease` (the workers'
    /// claim without its look-ahead).
    public func claim(queue: String, owner: String, limit: Int, lease: Duration) async throws -> [ClaimedJob] {
        try await claimAndLookAhead(queue: queue, owner: owner, limit: limit, lease: lease).jobs
    }

    /// Completes jobs `owner` holds; returns those completed (a missing id was no longer held).
    /// `durable: false` commits without waiting for the WAL flush (the runtime's batched
    /// completions: a completion lost in a crash only makes the job run again).
    public func complete(owner: String, ids: [JobID], durable: Bool = true) async throws -> Set<JobID> {
        if durable { return try await Self.complete(owner: owner, ids: ids, on: client, logger: logger) }
        guard !ids.isEmpty else { return [] }
        let rows = try await client.all(
            "SELECT queue.complete_batch(\(owner), \(ids.map(\.rawValue))::bigint[])", as: Int64.self, logger: logger)
        return Set(rows.map(JobID.init))
    }

    static func complete(owner: String, ids: [JobID], on runner: some SQLRunner, logger: Logger) async throws -> Set<JobID> {
        guard !ids.isEmpty else { return [] }
        let rows = try await runner.all(
            "SELECT queue.complete(\(owner), \(ids.map(\.rawValue))::bigint[])", as: Int64.self, logger: logger)
        return Set(rows.map(JobID.init))
    }

    /// One transaction for a handler's writes and its jobs' completion: both commit, or neither
    /// does (a lost lease rolls it back with `QueueError.leaseLost`, so two lease holders never
    /// both do the work). Wake-ups the transaction raises (`queue.wake`: follow-up jobs, rows
    /// other workers' loops watch) are sent after the commit, not inside it: a NOTIFY inside
    /// takes a cluster-wide lock held until the commit is flushed, which would line every
    /// worker's commits up behind one another (see `sql/0017_hot_paths.sql`). A wake-up that is
    /// lost because this process dies right after its commit costs the fallback poll, never a job.
    /// (Group handlers write in one statement instead, without BEGIN…COMMIT: `GroupCommit`.)
    static func jobTransaction<R: Sendable>(client: PostgresClient, owner: String, ids: [JobID], logger: Logger,
                                            _ body: (PostgresConnection) async throws -> R) async throws -> R {
        let (result, wakeups): (R, [String]) = try await client.transaction(logger: logger) { connection in
            try await connection.execute("SELECT queue.defer_wakeups()", logger: logger)
            let value = try await body(connection)
            let row = try await connection.first("""
                SELECT ARRAY(SELECT queue.complete(\(owner), \(ids.map(\.rawValue))::bigint[])), queue.deferred_wakeups()
                """, as: ([Int64], [String]).self, logger: logger)
            let done = Set((row?.0 ?? []).map(JobID.init))
            if let lost = ids.first(where: { !done.contains($0) }) {
                throw QueueError(.leaseLost, "lease lost before the job's transaction committed; rolled back", jobID: lost)
            }
            return (value, row?.1 ?? [])
        }
        await sendWakeups(wakeups, client: client, logger: logger)
        return result
    }

    /// Sends wake-ups a job's transaction deferred, after its commit. Failing to is logged, not
    /// thrown: the work is committed, and the fallback poll covers a lost wake-up.
    static func sendWakeups(_ wakeups: [String], client: PostgresClient, logger: Logger) async {
        guard !wakeups.isEmpty else { return }
        do {
            _ = try await client.first("SELECT queue.send_wakeups(\(wakeups))", as: Int.self, logger: logger)
        } catch {
            logger.debug("wake-ups after commit not sent; the fallback poll covers them", metadata: ["error": "\(error)"])
        }
    }

    /// Records a failed attempt; returns the job's new status ("scheduled" or "dead"), or nil
    /// when `owner` no longer held it.
    @discardableResult
    public func fail(owner: String, id: JobID, error: String, retryIn: Duration, permanent: Bool) async throws -> String? {
        let status = try await client.first("""
            SELECT queue.fail(\(owner), \(id.rawValue), \(error), \(retryIn.seconds), \(permanent))
            """, as: String?.self, logger: logger)
        return status ?? nil
    }

    /// Gives jobs back without counting the attempt (graceful shutdown).
    @discardableResult
    public func release(owner: String, ids: [JobID]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await client.first(
            "SELECT queue.release(\(owner), \(ids.map(\.rawValue))::bigint[])", as: Int.self, logger: logger) ?? 0
    }

    /// Extends the leases `owner` holds; returns the ids still held.
    public func extendLeases(owner: String, ids: [JobID], lease: Duration) async throws -> Set<JobID> {
        guard !ids.isEmpty else { return [] }
        let rows = try await client.all(
            "SELECT queue.extend_leases(\(owner), \(ids.map(\.rawValue))::bigint[], \(lease.seconds))",
            as: Int64.self, logger: logger)
        return Set(rows.map(JobID.init))
    }

    /// Claims up to `limit` runnable jobs of `queue` for `owner`, leased for `lease`, and in the
    /// same round trip gives the seconds until the earliest scheduled job of `queue` is due (as
    /// `secondsUntilNextScheduled`, read just before the claim): what a worker's claim loop needs
    /// each time it looks, in one statement (`queue.claim_next`).
    public func claimAndLookAhead(queue: String, owner: String, limit: Int, lease: Duration) async throws
        -> (jobs: [ClaimedJob], nextScheduledIn: Double?) {
        let rows = try await client.all("""
            SELECT id, kind, payload, attempt, max_attempts, priority, extract(epoch FROM now() - run_at)::float8, next_scheduled_in
              FROM queue.claim_next(\(queue), \(owner), \(limit)::int, \(lease.seconds))
            """, as: (Int64?, String?, String?, Int?, Int?, Int16?, Double?, Double?).self, logger: logger)
        let jobs = rows.compactMap { row -> ClaimedJob? in
            guard let id = row.0, let kind = row.1, let payload = row.2, let attempt = row.3, let maxAttempts = row.4,
                  let priority = row.5 else { return nil }
            return ClaimedJob(id: JobID(id), queue: queue, kind: kind, payloadJSON: payload, attempt: attempt,
                              maxAttempts: maxAttempts, priority: priority, waitedSeconds: row.6 ?? 0)
        }.sorted { ($0.priority, $0.id) < ($1.priority, $1.id) }
        return (jobs.map { $0.claimed(with: jobs.count) }, rows.first?.7 ?? nil)
    }

    /// Seconds until the earliest scheduled job of `queue` is due (≤ 0: due now), nil if none.
    public func secondsUntilNextScheduled(queue: String) async throws -> Double? {
        let row = try await client.first(
            "SELECT extract(epoch FROM queue.next_run_at(\(queue)) - clock_timestamp())::float8",
            as: Double?.self, logger: logger)
        return row ?? nil
    }

    // MARK: maintenance and admin

    public struct Reaped: Sendable, Equatable {
        public let queue: String
        public let returned: Int
        public let dead: Int
    }

    /// Returns expired leases to their queues (or to dead when out of attempts) and wakes them.
    public func reapExpiredLeases(limit: Int = 1000) async throws -> [Reaped] {
        let rows = try await client.all(
            "SELECT queue, reaped, dead FROM queue.reap_and_notify(\(limit)::int)",
            as: (String, Int, Int).self, logger: logger)
        return rows.map { Reaped(queue: $0.0, returned: $0.1 - $0.2, dead: $0.2) }
    }

    /// Cancels an unfinished job; false when there was none with that id.
    public func cancel(_ id: JobID, reason: String = "cancelled") async throws -> Bool {
        try await client.first("SELECT queue.cancel(\(id.rawValue), \(reason))", as: Bool.self, logger: logger) ?? false
    }

    /// Puts dead jobs of `queue` back to work (all of them when `ids` is nil).
    @discardableResult
    public func retryDead(queue: String, ids: [JobID]? = nil) async throws -> Int {
        if let ids {
            return try await client.first(
                "SELECT queue.retry_dead(\(queue), \(ids.map(\.rawValue))::bigint[])", as: Int.self, logger: logger) ?? 0
        }
        return try await client.first("SELECT queue.retry_dead(\(queue))", as: Int.self, logger: logger) ?? 0
    }

    /// Deletes finished jobs older than `retention`, at most `limit` per call.
    @discardableResult
    public func pruneFinished(olderThan retention: Duration, limit: Int = 10_000) async throws -> Int {
        try await client.first(
            "SELECT queue.prune_finished(make_interval(secs => \(retention.seconds)), \(limit)::int)",
            as: Int.self, logger: logger) ?? 0
    }

    /// What a pruning run did.
    public struct Pruned: Sendable, Equatable {
        /// Finished jobs removed.
        public var removed = 0
        /// Statements (each its own short transaction).
        public var batches = 0
        /// True when the last batch came back short: nothing older than the retention is left.
        public var complete = false

        /// A run's outcome (as reported, or as a test expects it).
        public init(removed: Int = 0, batches: Int = 0, complete: Bool = false) {
            self.removed = removed
            self.batches = batches
            self.complete = complete
        }
    }

    /// Deletes every finished job older than `retention` in batches of `batch`, each its own short
    /// transaction, until a batch comes back short, at most `maxBatches` per run, and only while
    /// `proceed()` says so (checked between batches). Several processes may prune at once: each
    /// batch skips rows another one holds.
    @discardableResult
    public func pruneFinished(olderThan retention: Duration, batch: Int, maxBatches: Int,
                              while proceed: () -> Bool = { true }) async throws -> Pruned {
        var outcome = Pruned()
        let batch = max(1, batch)
        while outcome.batches < maxBatches && proceed() {
            let removed = try await pruneFinished(olderThan: retention, limit: batch)
            outcome.removed += removed
            outcome.batches += 1
            if removed < batch {
                outcome.complete = true
                break
            }
        }
        return outcome
    }

    /// Depth and age of each queue (`queue.queue_stats`), with paused queues even when empty.
    public func stats() async throws -> [QueueStats] {
        let rows = try await client.all("""
            SELECT queue, available, due, scheduled, running, expired_leases, dead, oldest_ready_age_seconds,
                   paused, paused_at, paused_by, pause_reason, oldest_job_id, oldest_job_age_seconds
              FROM queue.queue_stats ORDER BY queue
            """, as: (String, Int, Int, Int, Int, Int, Int, Double?, Bool, Date?, String?, String?, Int64?, Double?).self, logger: logger)
        return rows.map {
            QueueStats(queue: $0.0, available: $0.1, due: $0.2, scheduled: $0.3, running: $0.4,
                       expiredLeases: $0.5, dead: $0.6, oldestReadyAgeSeconds: $0.7,
                       pause: $0.8 ? QueuePause(at: $0.9 ?? Date(), by: $0.10 ?? "", reason: $0.11 ?? "") : nil,
                       oldestJobID: $0.12.map(JobID.init), oldestJobAgeSeconds: $0.13)
        }
    }

    // MARK: pausing

    /// Pauses `queue`: its jobs wait (enqueues go on, running jobs finish) and no worker claims
    /// from it until `resume`. The state is in the database (`queue.queues`), so it survives
    /// restarts. Returns false when the queue was already paused (the first pause's record stays).
    @discardableResult
    public func pause(queue: String, by person: String, reason: String) async throws -> Bool {
        try Self.validate(queue: queue)
        try Self.validatePauseText(person, what: "who pauses", limit: 200)
        try Self.validatePauseText(reason, what: "the reason", limit: 500)
        return try await client.first("SELECT queue.pause(\(queue), \(person), \(reason))", as: Bool.self, logger: logger) ?? false
    }

    /// Resumes a paused queue and wakes its workers (NOTIFY). Returns false when it was not paused.
    @discardableResult
    public func resume(queue: String, by person: String) async throws -> Bool {
        try Self.validate(queue: queue)
        try Self.validatePauseText(person, what: "who resumes", limit: 200)
        return try await client.first("SELECT queue.resume(\(queue), \(person))", as: Bool.self, logger: logger) ?? false
    }

    /// Whether `queue` is paused now.
    public func isPaused(queue: String) async throws -> Bool {
        try await client.first("SELECT queue.is_paused(\(queue))", as: Bool.self, logger: logger) ?? false
    }

    static func validatePauseText(_ text: String, what: String, limit: Int) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, text.count <= limit, !text.unicodeScalars.contains(where: { $0.value == 0 }) else {
            throw QueueError(.invalidArgument, "\(what) must be 1...\(limit) characters")
        }
    }

    /// The current state of one job, wherever it is (unfinished or archived).
    public func status(of id: JobID) async throws -> JobSnapshot? {
        guard let row = try await client.first("""
            SELECT status, attempt, errors::text FROM queue.jobs WHERE id = \(id.rawValue)
            UNION ALL
            SELECT status, attempt, errors::text FROM queue.finished_jobs WHERE id = \(id.rawValue)
            LIMIT 1
            """, as: (String, Int, String).self, logger: logger) else { return nil }
        return JobSnapshot(id: id, status: row.0, attempt: row.1, errorsJSON: row.2)
    }
}

/// A job this worker holds under a lease.
public struct ClaimedJob: Sendable, Equatable {
    public let id: JobID
    public let queue: String
    public let kind: String
    public let payloadJSON: String
    /// 1 on the first try.
    public let attempt: Int
    public let maxAttempts: Int
    public let priority: Int16
    /// How long it waited between becoming due and being claimed.
    public let waitedSeconds: Double
    /// Jobs taken by the same claim statement, this one included (a group gathers them: `GroupCommit`).
    public private(set) var claimedWith = 1

    func claimed(with count: Int) -> ClaimedJob {
        var job = self
        job.claimedWith = count
        return job
    }
}

public struct QueueStats: Sendable, Equatable {
    public let queue: String
    public let available: Int
    public let due: Int
    public let scheduled: Int
    public let running: Int
    public let expiredLeases: Int
    public let dead: Int
    public let oldestReadyAgeSeconds: Double?
    /// Set while an operator has the queue paused.
    public let pause: QueuePause?
    /// The oldest job still to be done (ready or running), and its age since it was enqueued.
    public let oldestJobID: JobID?
    public let oldestJobAgeSeconds: Double?
}

/// Who paused a queue, when and why (`queue.queues`).
public struct QueuePause: Sendable, Equatable {
    public let at: Date
    public let by: String
    public let reason: String
}

public struct JobSnapshot: Sendable, Equatable {
    public let id: JobID
    /// scheduled, available, running, dead, completed or cancelled.
    public let status: String
    public let attempt: Int
    public let errorsJSON: String
}
