public import Logging
public import PostgresNIO

/// Group commit for handlers: jobs that arrive while a transaction is in flight are done
/// together in the next one — their rows locked in one statement, their writes in one
/// transaction, their completions in one `queue.complete`, one commit and one WAL flush for
/// all. A handler calls `run(item, context)` instead of `context.transaction`; a caller that
/// finds fewer than `parallelism` group transactions running leads the next one, in its own
/// task, and the others wait for the result it sets for them (no extra tasks). Under light load
/// a batch is one job, so latency does not grow; under a backlog batches fill up to `maxBatch`
/// and the per-transaction cost (round trips, commit, flush) is shared, while `parallelism`
/// transactions keep the database busy during each other's round trips.
///
/// If a batch's transaction fails (one bad row, a lost lease), every job of it is retried
/// alone, so one failing job never fails its neighbours.
public actor GroupCommit<Item: Sendable, Output: Sendable> {
    /// Does the work for a batch on one connection inside the transaction; returns one output
    /// per item, in order. Must lock rows in a stable order (e.g. by id) so batches cannot deadlock.
    public typealias Body = @Sendable (PostgresConnection, [Item], Logger) async throws -> [Output]

    private final class Slot: @unchecked Sendable {
        // Only touched on the actor.
        var result: Result<Output, any Error>?
    }

    private struct Pending {
        let item: Item
        let context: JobContext
        let slot: Slot
    }

    private let maxBatch: Int
    private let parallelism: Int
    private let bodyDefersWakeups: Bool
    private let body: Body
    private var pending: [Pending] = []
    private var flushing = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Connections a worker using this needs besides the runtime's own: one per group transaction.
    public nonisolated var connections: Int { parallelism }

    /// `bodyDefersWakeups`: the body's first statement calls `queue.defer_wakeups()` (a round trip
    /// fewer per group; see `JobQueue.jobTransaction`).
    public init(maxBatch: Int = 32, parallelism: Int = 4, bodyDefersWakeups: Bool = false, _ body: @escaping Body) {
        self.maxBatch = max(1, maxBatch)
        self.parallelism = max(1, parallelism)
        self.bodyDefersWakeups = bodyDefersWakeups
        self.body = body
    }

    public func run(_ item: Item, _ context: JobContext) async throws -> Output {
        let slot = Slot()
        pending.append(Pending(item: item, context: context, slot: slot))
        while slot.result == nil {
            if flushing < parallelism && !pending.isEmpty {
                flushing += 1
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
            let outputs = try await commit(batch)
            for (entry, output) in zip(batch, outputs) { entry.slot.result = .success(output) }
        } catch where batch.count > 1 {
            first.context.logger.notice("group transaction failed; retrying its jobs one by one",
                                        metadata: ["jobs": "\(batch.count)", "error": "\(error)"])
            for entry in batch {
                do {
                    entry.slot.result = .success(try await commit([entry])[0])
                } catch {
                    entry.slot.result = .failure(error)
                }
            }
        } catch {
            first.slot.result = .failure(error)
        }
    }

    /// One transaction: the body's writes and every job's completion commit together, or none
    /// (`JobQueue.jobTransaction`).
    private func commit(_ batch: [Pending]) async throws -> [Output] {
        let lead = batch[0].context
        let ids = batch.map(\.context.job.id)
        let body = self.body
        let items = batch.map(\.item)
        let outputs: [Output] = try await JobQueue.jobTransaction(client: lead.client, owner: lead.owner, ids: ids, logger: lead.logger,
                                                                  bodyDefersWakeups: bodyDefersWakeups) { connection in
            let outputs = try await body(connection, items, lead.logger)
            guard outputs.count == items.count else {
                throw QueueError(.groupMismatch, "group transaction returned \(outputs.count) results for \(items.count) jobs")
            }
            return outputs
        }
        for entry in batch { entry.context.tracker.markCompletedInTransaction() }
        return outputs
    }
}
