public import Logging
public import PostgresNIO
public import ServiceLifecycle
import CoreMetrics
import Foundation
import Metrics
import Synchronization

/// How the runtime claims, leases and shuts down. Defaults suit production; tests shorten them.
public struct RuntimeOptions: Sendable {
    /// Jobs in flight at once in this process.
    public var concurrency: Int
    /// Most jobs taken per claim statement.
    public var claimBatch: Int
    /// A claimed job is ours this long unless extended; a crashed worker's jobs return after it.
    public var lease: Duration
    /// Backstop poll when no notification arrives (lost notifications, listener down).
    public var pollInterval: Duration
    /// On SIGTERM: how long in-flight handlers may run on before they are cancelled and released.
    public var shutdownGrace: Duration
    /// Finished jobs older than this are pruned.
    public var finishedRetention: Duration
    /// How often finished jobs are pruned, and how: rows per statement, statements per run. A run
    /// goes on while batches come back full, so pruning keeps up with any completion rate up to
    /// batch × maxBatches per interval per process.
    public var prune: PruneSchedule
    /// How often queue depth gauges are refreshed.
    public var metricsInterval: Duration
    /// A unique name for this process's leases: worker@host:pid:random.
    public var owner: String

    public init(concurrency: Int = 8, claimBatch: Int? = nil, lease: Duration = .seconds(30),
                pollInterval: Duration = .seconds(5), shutdownGrace: Duration = .seconds(20),
                finishedRetention: Duration = .seconds(7 * 24 * 3600), prune: PruneSchedule = PruneSchedule(),
                metricsInterval: Duration = .seconds(15), owner: String) {
        self.concurrency = max(1, concurrency)
        self.claimBatch = max(1, claimBatch ?? min(concurrency, 100))
        self.lease = lease
        self.pollInterval = pollInterval
        self.shutdownGrace = shutdownGrace
        self.finishedRetention = finishedRetention
        self.prune = prune
        self.metricsInterval = metricsInterval
        self.owner = owner
    }

    /// worker@host:pid:random — unique per process start, readable in `queue.jobs.lease_owner`.
    public static func makeOwner(worker: String) -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(worker)@\(host):\(ProcessInfo.processInfo.processIdentifier):\(random)"
    }

    /// Lease upkeep and reaping run three times per lease period (at most every 10 s).
    var heartbeatInterval: Duration { min(.seconds(10), max(.milliseconds(200), lease / 3)) }
}

/// When and how much the runtime prunes of `queue.finished_jobs`.
public struct PruneSchedule: Sendable {
    /// Between runs (the first comes a random 30–120 s after start).
    public var interval: Duration
    /// Rows per statement (one short transaction each).
    public var batch: Int
    /// Most statements per run.
    public var maxBatches: Int

    public init(interval: Duration = .seconds(600), batch: Int = 10_000, maxBatches: Int = 100) {
        self.interval = interval
        self.batch = max(1, batch)
        self.maxBatches = max(1, maxBatches)
    }
}

/// Runs one `Worker` against its queue: claims in batches under leases with bounded concurrency,
/// extends leases while handlers run, batches completions, retries failures with backoff,
/// reaps expired leases, and on graceful shutdown stops claiming, lets in-flight work finish
/// within the grace period, and releases the rest.
public struct WorkerRuntime: Service {
    public let worker: Worker
    public let options: RuntimeOptions
    private let queue: JobQueue
    private let listener: WakeupListener?
    private let health: HealthState
    private let logger: Logger
    private let metrics: JobMetrics
    private let wake = WakeSignal()

    public init(worker: Worker, client: PostgresClient, options: RuntimeOptions, listener: WakeupListener?,
                health: HealthState = HealthState(), logger: Logger) {
        var logger = logger
        logger[metadataKey: "queue"] = "\(worker.queue)"
        self.worker = worker
        self.options = options
        self.queue = JobQueue(client: client, logger: logger)
        self.listener = listener
        self.health = health
        self.logger = logger
        self.metrics = JobMetrics(queue: worker.queue, kinds: worker.kinds)
        // Subscribed here, before the listener runs, so its first session already listens on
        // this queue's channel instead of starting again once the runtime subscribes.
        listener?.subscribe(queue: worker.queue, signal: wake)
    }

    public func run() async throws {
        let state = RuntimeState()
        if let warmUp = worker.warmUp {
            guard await self.warmUp(warmUp) else {
                health.set(.stopped)
                return
            }
        }
        health.set(.running)
        logger.info("worker started", metadata: [
            "owner": "\(options.owner)", "concurrency": "\(options.concurrency)",
            "claim_batch": "\(options.claimBatch)", "kinds": "\(worker.kinds.joined(separator: ","))",
        ])

        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { background in
                background.addTask { await self.maintenanceLoop(state: state) }
                background.addTask { await self.completionLoop(state: state) }
                background.addTask { await self.pruneLoop(state: state) }
                await self.claimLoop(state: state, wake: wake)
                state.stopBackground()
                await background.waitForAll()
            }
        } onGracefulShutdown: {
            self.health.set(.draining)
            state.beginShutdown()
            wake.signal()
        }

        let leftovers = state.takeReleases()
        if !leftovers.isEmpty {
            do {
                let released = try await queue.release(owner: options.owner, ids: leftovers)
                metrics.released.increment(by: released)
                logger.info("released unfinished jobs", metadata: ["count": "\(released)"])
            } catch {
                logger.error("could not release jobs; their leases will expire and return them",
                             metadata: ["error": "\(DatabaseError(error))", "count": "\(leftovers.count)"])
            }
        }
        try? await queue.client.execute("DELETE FROM queue.workers WHERE owner = \(options.owner)", logger: logger)
        health.set(.stopped)
        logger.info("worker stopped", metadata: ["owner": "\(options.owner)"])
    }

    // MARK: claiming

    private func claimLoop(state: RuntimeState, wake: WakeSignal) async {
        await withDiscardingTaskGroup { jobs in
            var failures = 0
            while !state.isShuttingDown && !Task.isCancelled {
                let free = options.concurrency - state.inFlightCount
                if free <= 0 {
                    state.setWaitingForSlot(true)
                    await wake.wait(timeout: options.pollInterval)
                    continue
                }
                let want = min(options.claimBatch, free)
                let claimed: [ClaimedJob]
                let nextScheduledIn: Double?
                do {
                    (claimed, nextScheduledIn) = try await queue.claimAndLookAhead(queue: worker.queue, owner: options.owner,
                                                                                   limit: want, lease: options.lease)
                    health.databaseSucceeded()
                    failures = 0
                } catch {
                    failures += 1
                    metrics.claimErrors.increment()
                    health.databaseFailed(DatabaseError(error))
                    if failures == 1 || failures % 20 == 0 {
                        logger.warning("claim failed; retrying", metadata: ["error": "\(DatabaseError(error))", "failures": "\(failures)"])
                    }
                    await wake.wait(timeout: Backoff.delay(afterFailures: failures + 1, first: .milliseconds(100)))
                    continue
                }
                if !claimed.isEmpty {
                    metrics.claimed.increment(by: claimed.count)
                    for job in claimed {
                        let tracker = state.start(job.id)
                        jobs.addTask { await self.execute(job, tracker: tracker, state: state, wake: wake) }
                    }
                    metrics.inFlight.record(state.inFlightCount)
                }
                // A full batch means more may be waiting: claim again without waiting for a
                // notification (NOTIFY is a hint; busy workers never depend on it).
                if claimed.count == want { continue }

                var timeout = options.pollInterval
                if let next = nextScheduledIn {
                    timeout = min(timeout, .seconds(max(0.005, next)))
                }
                await wake.wait(timeout: timeout)
            }

            // Draining: no more claims. In-flight handlers get the grace period, then are
            // cancelled and their jobs released.
            if state.inFlightCount > 0 {
                logger.info("draining in-flight jobs", metadata: ["in_flight": "\(state.inFlightCount)",
                                                                   "grace_seconds": "\(options.shutdownGrace.seconds)"])
                let drained = await state.waitUntilIdle(timeout: options.shutdownGrace)
                if !drained {
                    logger.warning("grace period over; cancelling handlers and releasing their jobs",
                                   metadata: ["in_flight": "\(state.inFlightCount)"])
                    state.beginCancelling()
                    jobs.cancelAll()
                }
            }
        }
    }

    // MARK: running one job

    private func execute(_ job: ClaimedJob, tracker: JobTracker, state: RuntimeState, wake: WakeSignal) async {
        var logger = self.logger
        logger[metadataKey: "job_id"] = "\(job.id)"
        logger[metadataKey: "job_kind"] = "\(job.kind)"
        logger[metadataKey: "attempt"] = "\(job.attempt)"
        metrics.wait.recordSeconds(job.waitedSeconds)

        let context = JobContext(job: job, logger: logger, client: queue.client, owner: options.owner, tracker: tracker)
        let started = ContinuousClock.now
        var failure: (any Error)?
        if let handler = worker.handlers[job.kind] {
            do {
                try await handler.run(job.payloadJSON, context)
            } catch {
                failure = error
            }
        } else {
            failure = QueueError(.unknownJobKind,
                                 "worker \(worker.name) has no handler for job kind '\(job.kind)' (it handles: \(worker.kinds.joined(separator: ", ")))",
                                 jobID: job.id)
        }
        metrics.handlerDuration(kind: job.kind).record(duration: ContinuousClock.now - started)

        guard let failure else {
            if tracker.leaseLost {
                // Cancelled or reaped while running: someone else owns the job now.
                metrics.leaseLost.increment()
                logger.warning("job finished after its lease was lost; its completion is not recorded")
                state.finish(job.id, then: .nothing, wake: wake)
            } else if tracker.completedInTransaction {
                metrics.completed.increment()
                state.finish(job.id, then: .nothing, wake: wake)
            } else {
                state.finish(job.id, then: .complete, wake: wake)
            }
            return
        }
        if state.isCancelling && (Task.isCancelled || failure is CancellationError) {
            state.finish(job.id, then: .release, wake: wake)
            return
        }
        if tracker.leaseLost || (failure as? QueueError)?.code == .leaseLost {
            metrics.leaseLost.increment()
            logger.warning("job's lease was lost while it ran; its result is discarded",
                           metadata: ["error": "\(failure)"])
            state.finish(job.id, then: .nothing, wake: wake)
            return
        }
        await recordFailure(job, failure, logger: logger)
        state.finish(job.id, then: .nothing, wake: wake)
    }

    private func recordFailure(_ job: ClaimedJob, _ failure: any Error, logger: Logger) async {
        var permanent = false
        var delay = worker.retry.delay(afterAttempt: job.attempt)
        let message: String
        switch failure {
        case let steer as JobFailure:
            message = steer.reason
            switch steer.disposition {
            case .permanent: permanent = true
            case .retry(let after): delay = after
            }
        case let queueError as QueueError:
            message = queueError.description
            // A payload no handler can read will not improve by waiting.
            permanent = queueError.code == .unknownJobKind || queueError.code == .payloadDecodingFailed
        case let databaseError as DatabaseError:
            message = databaseError.description
        default:
            message = String(describing: failure)
        }
        do {
            let status = try await queue.fail(owner: options.owner, id: job.id, error: message, retryIn: delay, permanent: permanent)
            metrics.failed.increment()
            if status == "dead" {
                metrics.dead.increment()
                logger.error("job is dead", metadata: ["error": "\(message)", "permanent": "\(permanent)"])
            } else if status == nil {
                metrics.leaseLost.increment()
                logger.warning("job failed after its lease was lost", metadata: ["error": "\(message)"])
            } else {
                logger.warning("job failed; will retry", metadata: ["error": "\(message)", "retry_in_seconds": "\(delay.seconds)"])
            }
        } catch {
            logger.error("could not record the failure; the lease will expire and the job return",
                         metadata: ["error": "\(message)", "db_error": "\(DatabaseError(error))"])
        }
    }

    // MARK: batched completion

    private func completionLoop(state: RuntimeState) async {
        var failures = 0
        while true {
            let batch = state.takeCompletions()
            if batch.isEmpty {
                if state.backgroundStopped { return }
                await state.completionSignal.wait(timeout: .seconds(1))
                continue
            }
            do {
                let done = try await queue.complete(owner: options.owner, ids: batch, durable: false)
                health.databaseSucceeded()
                failures = 0
                metrics.completed.increment(by: done.count)
                let lost = batch.count - done.count
                if lost > 0 {
                    metrics.leaseLost.increment(by: lost)
                    logger.warning("completed jobs whose lease was already lost; they will run again",
                                   metadata: ["count": "\(lost)"])
                }
                state.completionsFlushed(batch)
            } catch {
                failures += 1
                health.databaseFailed(DatabaseError(error))
                state.completionsFailed(batch)
                if failures == 1 || failures % 20 == 0 {
                    logger.warning("could not record completions; retrying",
                                   metadata: ["error": "\(DatabaseError(error))", "count": "\(batch.count)"])
                }
                if state.backgroundStopped && failures >= 3 {
                    logger.error("giving up on completions at shutdown; their leases will expire and the jobs run again",
                                 metadata: ["count": "\(batch.count)"])
                    return
                }
                await state.completionSignal.wait(timeout: Backoff.delay(afterFailures: failures + 1, first: .milliseconds(100)))
            }
        }
    }

    /// Runs the worker's warm-up until it succeeds (false: shutdown came first). Nothing is
    /// claimed and no `queue.workers` row exists meanwhile.
    private func warmUp(_ body: @escaping @Sendable (PostgresClient, Logger) async throws -> Void) async -> Bool {
        let start = ContinuousClock.now
        guard await Backoff.retryingUntilShutdown("warm-up", health: health, logger: logger, interruptible: true, {
            try await body(self.queue.client, self.logger)
        }) != nil else { return false }
        logger.info("warmed up", metadata: ["seconds": "\(String(format: "%.2f", (ContinuousClock.now - start).seconds))"])
        return true
    }

    // MARK: leases, heartbeat, reaping, pruning, gauges

    private func maintenanceLoop(state: RuntimeState) async {
        let clock = ContinuousClock()
        var nextGauges = clock.now
        await heartbeat(state: state)
        await reap()
        while !state.backgroundStopped {
            await state.maintenanceSignal.wait(timeout: options.heartbeatInterval)
            if state.backgroundStopped { break }
            await extendLeases(state: state)
            await heartbeat(state: state)
            await reap()
            if clock.now >= nextGauges {
                nextGauges = clock.now + options.metricsInterval
                await refreshGauges()
            }
        }
    }

    /// Prunes finished jobs in its own loop, so a long run never delays lease extension (which
    /// the maintenance loop must do every few seconds). A run goes on while batches come back
    /// full; a run cut short by its bound is followed by the next one after a minute.
    private func pruneLoop(state: RuntimeState) async {
        let pruned = Counter(label: "hotline_finished_jobs_pruned_total")
        var wait: Duration = .seconds(Double.random(in: 30...120))
        while !state.backgroundStopped {
            await state.pruneSignal.wait(timeout: wait)
            if state.backgroundStopped { break }
            wait = options.prune.interval
            do {
                let run = try await queue.pruneFinished(olderThan: options.finishedRetention, batch: options.prune.batch,
                                                        maxBatches: options.prune.maxBatches) { !state.backgroundStopped }
                pruned.increment(by: run.removed)
                if run.removed > 0 {
                    logger.info("pruned finished jobs", metadata: ["count": "\(run.removed)", "batches": "\(run.batches)",
                                                                   "complete": "\(run.complete)"])
                }
                if !run.complete { wait = min(wait, .seconds(60)) }
            } catch {
                logger.warning("pruning finished jobs failed", metadata: ["error": "\(DatabaseError(error))"])
            }
        }
    }

    private func extendLeases(state: RuntimeState) async {
        let held = state.heldIDs
        guard !held.isEmpty else { return }
        do {
            let still = try await queue.extendLeases(owner: options.owner, ids: held, lease: options.lease)
            health.databaseSucceeded()
            let lost = held.filter { !still.contains($0) }
            if !lost.isEmpty {
                state.leaseLost(lost)
                logger.warning("leases lost (reaped after expiry or cancelled); those handlers' results will be discarded",
                               metadata: ["jobs": "\(lost.map(\.description).joined(separator: ","))"])
            }
        } catch {
            health.databaseFailed(DatabaseError(error))
            logger.warning("could not extend leases", metadata: ["error": "\(DatabaseError(error))"])
        }
    }

    private func heartbeat(state: RuntimeState) async {
        let pid = Int(ProcessInfo.processInfo.processIdentifier)
        let host = ProcessInfo.processInfo.hostName
        do {
            try await queue.client.execute("""
                SELECT queue.worker_heartbeat(\(options.owner), \(worker.name), \([worker.queue])::text[], \(host),
                                              \(pid)::int, \(state.inFlightCount)::int, \(state.isShuttingDown))
                """, logger: logger)
            health.databaseSucceeded()
        } catch {
            health.databaseFailed(DatabaseError(error))
        }
    }

    private func reap() async {
        do {
            for reaped in try await queue.reapExpiredLeases() {
                metrics.reaped.increment(by: reaped.returned + reaped.dead)
                logger.warning("reaped expired leases", metadata: [
                    "reaped_queue": "\(reaped.queue)", "returned": "\(reaped.returned)", "dead": "\(reaped.dead)",
                ])
            }
        } catch {
            logger.debug("reaper failed", metadata: ["error": "\(DatabaseError(error))"])
        }
    }

    private func refreshGauges() async {
        do {
            let row = try await queue.client.first("""
                SELECT available, due, scheduled, running, dead, coalesce(oldest_ready_age_seconds, 0), paused
                  FROM queue.queue_stats WHERE queue = \(worker.queue)
                """, as: (Int, Int, Int, Int, Int, Double, Bool).self, logger: logger) ?? (0, 0, 0, 0, 0, 0, false)
            metrics.depth("available").record(row.0 + row.1)
            metrics.depth("scheduled").record(row.2)
            metrics.depth("running").record(row.3)
            metrics.depth("dead").record(row.4)
            Gauge(label: "hotline_queue_oldest_ready_seconds", dimensions: [("queue", worker.queue)]).record(row.5)
            Gauge(label: "hotline_queue_paused", dimensions: [("queue", worker.queue)]).record(row.6 ? 1 : 0)
        } catch {
            logger.debug("queue depth query failed", metadata: ["error": "\(DatabaseError(error))"])
        }
    }
}

/// The runtime's shared bookkeeping: jobs in flight, completions waiting to be flushed, jobs to
/// release, and the shutdown phase.
final class RuntimeState: Sendable {
    enum After { case complete, release, nothing }

    private struct State {
        var inFlight: [JobID: JobTracker] = [:]
        var pendingCompletions: [JobID] = []
        var completing: Set<JobID> = []
        var releases: [JobID] = []
        var shuttingDown = false
        var cancelling = false
        var backgroundStopped = false
        var waitingForSlot = false
    }
    private let state = Mutex(State())
    let completionSignal = WakeSignal()
    let maintenanceSignal = WakeSignal()
    let pruneSignal = WakeSignal()
    private let idleSignal = WakeSignal()

    var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }
    var isCancelling: Bool { state.withLock { $0.cancelling } }
    var backgroundStopped: Bool { state.withLock { $0.backgroundStopped } }
    var inFlightCount: Int { state.withLock { $0.inFlight.count } }

    /// Every job whose lease still matters: running handlers and completions not yet recorded.
    var heldIDs: [JobID] {
        state.withLock { Array($0.inFlight.keys) + $0.pendingCompletions + Array($0.completing) }
    }

    func beginShutdown() { state.withLock { $0.shuttingDown = true } }
    func beginCancelling() { state.withLock { $0.cancelling = true } }
    func setWaitingForSlot(_ waiting: Bool) { state.withLock { $0.waitingForSlot = waiting } }

    func stopBackground() {
        state.withLock { $0.backgroundStopped = true }
        completionSignal.signal()
        maintenanceSignal.signal()
        pruneSignal.signal()
    }

    func start(_ id: JobID) -> JobTracker {
        let tracker = JobTracker()
        state.withLock { $0.inFlight[id] = tracker }
        return tracker
    }

    func finish(_ id: JobID, then after: After, wake: WakeSignal) {
        let (wakeClaimer, idle) = state.withLock { state -> (Bool, Bool) in
            state.inFlight[id] = nil
            switch after {
            case .complete: state.pendingCompletions.append(id)
            case .release: state.releases.append(id)
            case .nothing: break
            }
            let wakeClaimer = state.waitingForSlot
            state.waitingForSlot = false
            return (wakeClaimer, state.inFlight.isEmpty)
        }
        if after == .complete { completionSignal.signal() }
        if wakeClaimer { wake.signal() }
        if idle { idleSignal.signal() }
    }

    func takeCompletions() -> [JobID] {
        state.withLock { state in
            let batch = state.pendingCompletions
            state.pendingCompletions.removeAll(keepingCapacity: true)
            state.completing.formUnion(batch)
            return batch
        }
    }

    func completionsFlushed(_ batch: [JobID]) {
        state.withLock { $0.completing.subtract(batch) }
    }

    func completionsFailed(_ batch: [JobID]) {
        state.withLock { state in
            state.completing.subtract(batch)
            state.pendingCompletions.insert(contentsOf: batch, at: 0)
        }
    }

    func leaseLost(_ ids: [JobID]) {
        state.withLock { state in
            for id in ids {
                state.inFlight[id]?.markLeaseLost()
            }
            let lost = Set(ids)
            state.pendingCompletions.removeAll { lost.contains($0) }
        }
    }

    func takeReleases() -> [JobID] {
        state.withLock { state in
            defer { state.releases.removeAll() }
            return state.releases
        }
    }

    /// Waits until no handler runs, or `timeout`; true when idle.
    func waitUntilIdle(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while inFlightCount > 0 {
            let remaining = deadline - .now
            if remaining <= .zero { return false }
            await idleSignal.wait(timeout: remaining)
        }
        return true
    }
}
