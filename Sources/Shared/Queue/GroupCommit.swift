public import Logging
public import PostgresNIO

/// Group commit for handlers: jobs that arrive while a group is in flight are done together in
/// the next one. A handler calls `run(item, context)`; a caller that finds fewer than
/// `parallelism` groups running leads the next one, in its own task, and the others wait for the
/// result it sets for them (no extra tasks). Under light load a group is one job, so latency does
/// not grow; under a backlog groups fill up to `maxBatch` and share their statements, commit and
/// WAL flush.
///
/// A group holds no transaction open. Its body reads what it needs (statements of its own), does
/// its work in memory, and then writes with **one statement** that, in its one transaction, locks,
/// checks that what was read still holds, writes, completes the jobs it did with
/// `queue.finish_group(owner, ids)` and returns the wake-ups that function hands back. At 200
/// tickets/s every group is one job, so its round trips are the worker's cost: this is three
/// (read, write, wake-ups) where BEGIN…COMMIT took six, each a hop between the I/O thread and the
/// task pool here and a statement's start-up in the backend (`sql/0024_one_statement_groups.sql`).
///
/// PostgresNIO reports that statement done at CommandComplete, before its implicit commit at
/// Sync; if the server dies in between, nothing of it committed, the jobs included, so they run
/// again when their leases expire: a false "done" costs a rerun, never a write.
///
/// `queue.finish_group` raises QL001 when a lease was lost, which rolls the write back: two lease
/// holders never both commit the work. A job whose read went stale (`.again`) was not completed
/// and runs in a later group. If a group's write fails (one bad row, a lost lease), every job of
/// it is retried alone, so one failing job never fails its neighbours.
public actor GroupCommit<Item: Sendable, Output: Sendable> {
    /// Reads, works and writes one group (see the type's comment). Returns one outcome per item,
    /// in order, and the wake-ups its write returned. Its write must lock rows in a stable order
    /// (e.g. by id) so groups cannot deadlock.
    public typealias Body = @Sendable (JobGroup<Item>) async throws -> GroupWrite<Output>

    private final class Slot: @unchecked Sendable {
        // Only touched on the actor.
        var result: Result<Output, any Error>?
    }

    private struct Pending {
        let item: Item
        let context: JobContext
        let slot: Slot
        /// Groups whose read of this job went stale before their write.
        var stale = 0
    }

    /// A job whose read goes stale this many times in a row fails (and is retried by the runtime
    /// later) rather than holding its handler indefinitely.
    static var maxStale: Int { 5 }

    private let maxBatch: Int
    private let parallelism: Int
    private let gather: Duration
    private let body: Body
    private var pending: [Pending] = []
    private var flushing = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// While a leader waits for the rest of its claim, how many pending jobs it waits for.
    private var gatheringFor: Int?
    private let gathered = WakeSignal()

    /// Connections a worker using this needs besides the runtime's own: one per group in flight.
    public nonisolated var connections: Int { parallelism }

    /// `gather`: how long a group's leader waits for the other jobs of its claim (they reach the
    /// group a moment apart, each in its own task) so that they share its group rather than each
    /// leading one; it waits only when its claim took more than one job.
    public init(maxBatch: Int = 32, parallelism: Int = 4, gather: Duration = .milliseconds(2), _ body: @escaping Body) {
        self.maxBatch = max(1, maxBatch)
        self.parallelism = max(1, parallelism)
        self.gather = gather
        self.body = body
    }

    public func run(_ item: Item, _ context: JobContext) async throws -> Output {
        let slot = Slot()
        pending.append(Pending(item: item, context: context, slot: slot))
        if let target = gatheringFor, pending.count >= target { gathered.signal() }
        while slot.result == nil {
            if flushing < parallelism && !pending.isEmpty && gatheringFor == nil {
                flushing += 1
                let target = min(maxBatch, context.job.claimedWith)
                if gather > .zero && pending.count < target {
                    gatheringFor = target
                    await gathered.wait(timeout: gather)
                    gatheringFor = nil
                    // A signal that raced the timeout must not cut the next gather short.
                    _ = await gathered.wait(timeout: .zero)
                }
                await flush()
                flushing -= 1
                let waiting = waiters
                waiters.removeAll()
                for waiter in waiting { waiter.resume() }
            } else {
                await withCheckedContinuation { waiters.append($0) }
            }
        }
        return try slot.result!.get()
    }

    private func flush() async {
        let batch = Array(pending.prefix(maxBatch))
        pending.removeFirst(batch.count)
        guard let first = batch.first else { return }
        do {
            settle(batch, try await write(batch))
        } catch where batch.count > 1 {
            first.context.logger.notice("group write failed; retrying its jobs one by one",
                                        metadata: ["jobs": "\(batch.count)", "error": "\(error)"])
            for entry in batch {
                do {
                    settle([entry], try await write([entry]))
                } catch {
                    entry.slot.result = .failure(error)
                }
            }
        } catch {
            first.slot.result = .failure(error)
        }
    }

    /// Hands each job its output, or puts a stale one back at the front for the next group.
    private func settle(_ batch: [Pending], _ outcomes: [GroupOutcome<Output>]) {
        var again: [Pending] = []
        for (entry, outcome) in zip(batch, outcomes) {
            switch outcome {
            case .done(let output):
                entry.slot.result = .success(output)
            case .again:
                var entry = entry
                entry.stale += 1
                if entry.stale >= Self.maxStale {
                    entry.slot.result = .failure(JobFailure.retry(
                        after: .seconds(1), "what the job read changed before its write \(entry.stale) times in a row"))
                } else {
                    again.append(entry)
                }
            }
        }
        pending.insert(contentsOf: again, at: 0)
    }

    /// One group: the body's statements, its write committing the work and the completions
    /// together; then the wake-ups, sent after that commit.
    private func write(_ batch: [Pending]) async throws -> [GroupOutcome<Output>] {
        let lead = batch[0].context
        let group = JobGroup(items: batch.map(\.item), jobIDs: batch.map(\.context.job.id), owner: lead.owner,
                             client: lead.client, logger: lead.logger)
        let written: GroupWrite<Output>
        do {
            written = try await body(group)
        } catch let error as DatabaseError where error.sqlState == "QL001" {
            throw QueueError(.leaseLost, "lease lost before the group's write committed; rolled back: \(error.message)",
                             jobID: batch.count == 1 ? lead.job.id : nil)
        }
        guard written.outcomes.count == batch.count else {
            throw QueueError(.groupMismatch, "group write returned \(written.outcomes.count) outcomes for \(batch.count) jobs")
        }
        for (entry, outcome) in zip(batch, written.outcomes) {
            if case .done = outcome { entry.context.tracker.markCompletedInTransaction() }
        }
        await JobQueue.sendWakeups(written.wakeups, client: lead.client, logger: lead.logger)
        return written.outcomes
    }
}

/// One group as its body sees it.
public struct JobGroup<Item: Sendable>: Sendable {
    public let items: [Item]
    /// The items' jobs, in the same order: the write completes those it did with
    /// `queue.finish_group(owner, ids)`.
    public let jobIDs: [JobID]
    /// This process's lease owner name (the first argument of `queue.finish_group`).
    public let owner: String
    public let client: PostgresClient
    public let logger: Logger
}

/// What a group's write did with each job.
public enum GroupOutcome<Output: Sendable>: Sendable {
    /// Done, and the job completed in the write's transaction.
    case done(Output)
    /// What the group read changed before its write took the lock: nothing was written and the
    /// job was not completed; it runs again in a later group.
    case again
}

/// A group write's result: one outcome per job, and the wake-ups `queue.finish_group` returned.
public struct GroupWrite<Output: Sendable>: Sendable {
    public var outcomes: [GroupOutcome<Output>]
    public var wakeups: [String]

    public init(outcomes: [GroupOutcome<Output>], wakeups: [String]) {
        self.outcomes = outcomes
        self.wakeups = wakeups
    }
}
