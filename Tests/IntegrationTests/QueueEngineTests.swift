import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

/// The queue engine inside one process, against a real PostgreSQL: enqueue, claim, complete,
/// retry, dead-letter, unique keys, transactions, delays, cancel, reaping, pruning, draining.
@Suite("Queue engine")
struct QueueEngineTests {
    @Test func everyJobRunsOnceAndIsArchivedAsCompleted() async throws {
        try await TestDatabase.with { db in
            let seen = Recorder()
            var worker = try Worker(name: "test", queue: "notes")
            try worker.register(Note.self) { note, _ in seen.record(note.text) }
            try await withWorker(worker, on: db, options: testOptions(concurrency: 8, batch: 5)) { queue in
                try await queue.enqueue((0..<300).map { try NewJob(queue: "notes", Note(text: "n\($0)")) })
                try await eventually("300 jobs completed") {
                    try await queue.client.count("SELECT count(*)::int FROM queue.finished_jobs WHERE status = 'completed'") == 300
                }
            }
            #expect(seen.count == 300)
            #expect(Set(seen.events).count == 300)
            try await db.withClient { client in
                let n25 = try await client.count("SELECT count(*)::int FROM queue.jobs")
                #expect(n25 == 0)
            }
        }
    }

    @Test func concurrencyIsBoundedPerProcess() async throws {
        try await TestDatabase.with { db in
            let seen = Recorder()
            var worker = try Worker(name: "test", queue: "bounded")
            try worker.register(Note.self) { note, _ in
                seen.enter()
                try await Task.sleep(for: .milliseconds(30))
                seen.leave()
                seen.record(note.text)
            }
            try await withWorker(worker, on: db, options: testOptions(concurrency: 3, batch: 10)) { queue in
                try await queue.enqueue((0..<30).map { try NewJob(queue: "bounded", Note(text: "\($0)")) })
                try await eventually("30 jobs ran") { seen.count == 30 }
            }
            #expect(seen.maxRunning <= 3)
            #expect(seen.maxRunning >= 2, "claims should fill free slots")
        }
    }

    @Test func lowerPriorityNumberRunsFirst() async throws {
        try await TestDatabase.with { db in
            let seen = Recorder()
            var worker = try Worker(name: "test", queue: "prio")
            try worker.register(Note.self) { note, _ in seen.record(note.text) }
            try await db.withClient { client in
                let queue = JobQueue(client: client, logger: db.logger)
                try await queue.enqueue((0..<5).map { try NewJob(queue: "prio", Note(text: "later\($0)"), options: JobOptions(priority: 5)) })
                try await queue.enqueue((0..<5).map { try NewJob(queue: "prio", Note(text: "urgent\($0)"), options: JobOptions(priority: -5)) })
            }
            try await withWorker(worker, on: db, options: testOptions(concurrency: 1, batch: 1)) { _ in
                try await eventually("10 jobs ran") { seen.count == 10 }
            }
            #expect(seen.events.prefix(5).allSatisfy { $0.hasPrefix("urgent") })
            #expect(seen.events == (0..<5).map { "urgent\($0)" } + (0..<5).map { "later\($0)" })
        }
    }

    @Test func uniqueKeyMakesDuplicateEnqueueANoOp() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client in
                let queue = JobQueue(client: client, logger: db.logger)
                let options = JobOptions(uniqueKey: "ticket-42:sms")
                let first = try await queue.enqueue(try NewJob(queue: "u", Note(text: "a"), options: options))
                let second = try await queue.enqueue(try NewJob(queue: "u", Note(text: "b"), options: options))
                #expect(first.duplicate == false)
                #expect(second.duplicate == true)
                #expect(second.id == first.id)
                // Within one batch too, and the same key on another queue is another job.
                let batch = try await queue.enqueue([
                    try NewJob(queue: "u", Note(text: "c"), options: JobOptions(uniqueKey: "k2")),
                    try NewJob(queue: "u", Note(text: "d"), options: JobOptions(uniqueKey: "k2")),
                    try NewJob(queue: "other", Note(text: "e"), options: options),
                ])
                #expect(batch.map(\.duplicate) == [false, true, false])
                #expect(batch[1].id == batch[0].id)
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs") == 3)
                // The SQL function for channels behaves the same.
                let viaSQL = try await client.first(
                    "SELECT queue.enqueue('u', 'test.note', '{\"text\":\"x\"}'::jsonb, NULL, 0::int2, 20, 'ticket-42:sms')",
                    as: Int64.self, logger: db.logger)
                #expect(viaSQL == first.id?.rawValue)
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs") == 3)
            }
        }
    }

    @Test func uniqueKeyIsFreeAgainOnceTheJobFinished() async throws {
        try await TestDatabase.with { db in
            let seen = Recorder()
            var worker = try Worker(name: "test", queue: "again")
            try worker.register(Note.self) { note, _ in seen.record(note.text) }
            try await withWorker(worker, on: db) { queue in
                try await queue.enqueue(try NewJob(queue: "again", Note(text: "one"), options: JobOptions(uniqueKey: "k")))
                try await eventually("first ran") { seen.count == 1 }
                try await eventually("first archived") {
                    try await queue.client.count("SELECT count(*)::int FROM queue.jobs") == 0
                }
                let again = try await queue.enqueue(try NewJob(queue: "again", Note(text: "two"), options: JobOptions(uniqueKey: "k")))
                #expect(again.duplicate == false)
                try await eventually("second ran") { seen.count == 2 }
            }
        }
    }

    @Test func enqueueCommitsOrRollsBackWithTheCallersTransaction() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client in
                try await client.execute("CREATE TABLE tickets_probe (id int PRIMARY KEY)", logger: db.logger)
                struct Abort: Error {}
                await #expect(throws: (any Error).self) {
                    try await client.withTransaction(logger: db.logger) { connection in
                        try await connection.execute("INSERT INTO tickets_probe VALUES (1)", logger: db.logger)
                        try await JobQueue.enqueue([try NewJob(queue: "tx", Note(text: "follow-up"))], on: connection, logger: db.logger)
                        throw Abort()
                    }
                }
                #expect(try await client.count("SELECT count(*)::int FROM tickets_probe") == 0)
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs") == 0)

                try await client.withTransaction(logger: db.logger) { connection in
                    try await connection.execute("INSERT INTO tickets_probe VALUES (2)", logger: db.logger)
                    try await JobQueue.enqueue([try NewJob(queue: "tx", Note(text: "follow-up"))], on: connection, logger: db.logger)
                }
                #expect(try await client.count("SELECT count(*)::int FROM tickets_probe") == 1)
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'tx'") == 1)
            }
        }
    }

    @Test func badPayloadsAreRejectedAtEnqueueAndNothingIsWritten() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client in
                let queue = JobQueue(client: client, logger: db.logger)
                // One malformed job fails the whole batch: nothing half-written.
                let error = await #expect(throws: DatabaseError.self) {
                    try await queue.enqueue([
                        try NewJob(queue: "bad", Note(text: "fine")),
                        try NewJob(queue: "bad", kind: "test.note", payloadJSON: "{not json"),
                    ])
                }
                #expect(error?.code == .invalidInput)
                await #expect(throws: DatabaseError.self) {
                    try await queue.enqueue(try NewJob(queue: "bad", kind: "test.note", payloadJSON: "[1,2]"))
                }
                await #expect(throws: DatabaseError.self) {
                    try await queue.enqueue(try NewJob(queue: "bad", kind: "test.note",
                                                       payloadJSON: "{\"x\":\"" + String(repeating: "é", count: 300_000) + "\"}"))
                }
                let n158 = try await client.count("SELECT count(*)::int FROM queue.jobs")
                #expect(n158 == 0)
                // Swift-side validation names the problem before any round trip.
                #expect(throws: QueueError.self) { try NewJob(queue: "Bad Queue!", Note(text: "x")) }
                #expect(throws: QueueError.self) { try NewJob(queue: "ok", Note(text: "x"), options: JobOptions(maxAttempts: 0)) }
                // The SQL entry point rejects non-object payloads with a clear message.
                let sqlError = await #expect(throws: DatabaseError.self) {
                    try await client.execute("SELECT queue.enqueue('bad', 'k', '\"text\"'::jsonb)", logger: db.logger)
                }
                #expect(sqlError?.message.contains("payload must be a JSON object") == true)
            }
        }
    }

    @Test func failuresRetryWithBackoffThenDieWithTheirErrorsKept() async throws {
        try await TestDatabase.with { db in
            var worker = try Worker(name: "test", queue: "retry", retry: RetryPolicy(base: .milliseconds(20), cap: .milliseconds(100)))
            try worker.register(AlwaysFails.self) { _, context in
                struct Boom: Error, CustomStringConvertible { let attempt: Int; var description: String { "boom on attempt \(attempt)" } }
                throw Boom(attempt: context.job.attempt)
            }
            try await withWorker(worker, on: db) { queue in
                let job = try await queue.enqueue(try NewJob(queue: "retry", AlwaysFails(), options: JobOptions(maxAttempts: 3)))
                let id = try #require(job.id)
                try await eventually("job dead") { try await queue.status(of: id)?.status == "dead" }
                let snapshot = try #require(try await queue.status(of: id))
                #expect(snapshot.attempt == 3)
                let errors = try JSONSerialization.jsonObject(with: Data(snapshot.errorsJSON.utf8)) as? [[String: Any]]
                #expect(errors?.count == 3)
                #expect(errors?.map { $0["error"] as? String } == ["boom on attempt 1", "boom on attempt 2", "boom on attempt 3"])
                #expect(try await queue.client.count("SELECT count(*)::int FROM queue.dead_jobs WHERE last_error = 'boom on attempt 3'") == 1)
                // A dead job goes back to work on request, its history kept.
                #expect(try await queue.retryDead(queue: "retry", ids: [id]) == 1)
                try await eventually("dead again after three more attempts") {
                    let s = try await queue.status(of: id)
                    return s?.status == "dead" && (s?.errorsJSON.components(separatedBy: "boom on attempt").count ?? 0) - 1 == 6
                }
            }
        }
    }

    @Test func backoffSchedulesTheRetryInTheFuture() async throws {
        try await TestDatabase.with { db in
            var worker = try Worker(name: "test", queue: "slow-retry", retry: RetryPolicy(base: .seconds(3600), jitter: 0.25))
            try worker.register(AlwaysFails.self) { _, _ in throw JobFailure.retry(after: .seconds(7200), "gateway said wait") }
            try worker.register(Note.self) { _, _ in struct E: Error {}; throw E() }
            try await withWorker(worker, on: db) { queue in
                let steered = try #require(try await queue.enqueue(try NewJob(queue: "slow-retry", AlwaysFails())).id)
                let policy = try #require(try await queue.enqueue(try NewJob(queue: "slow-retry", Note(text: "x"))).id)
                try await eventually("both failed once") {
                    try await queue.client.count("SELECT count(*)::int FROM queue.jobs WHERE status = 'scheduled' AND attempt = 1") == 2
                }
                let delays = try await queue.client.all(
                    "SELECT id, extract(epoch FROM run_at - now())::float8 FROM queue.jobs ORDER BY id",
                    as: (Int64, Double).self, logger: db.logger)
                let byID = Dictionary(uniqueKeysWithValues: delays)
                // Retry-After style delay is taken as given; the policy's 1 h base gets ±25 % jitter.
                #expect((7100...7200).contains(byID[steered.rawValue] ?? 0))
                #expect((2600...4500).contains(byID[policy.rawValue] ?? 0))
            }
        }
    }

    @Test func aPoisonJobDoesNotBlockTheQueue() async throws {
        try await TestDatabase.with { db in
            let seen = Recorder()
            var worker = try Worker(name: "test", queue: "poison", retry: RetryPolicy(base: .milliseconds(10), cap: .milliseconds(20)))
            try worker.register(AlwaysFails.self) { _, _ in throw JobFailure.permanent("cannot ever work") }
            try worker.register(Note.self) { note, _ in seen.record(note.text) }
            try await withWorker(worker, on: db, options: testOptions(concurrency: 1, batch: 1)) { queue in
                // The poison job is first in line and retried; the others still flow.
                try await queue.enqueue(try NewJob(queue: "poison", AlwaysFails(), options: JobOptions(priority: -10, maxAttempts: 1000)))
                try await queue.enqueue(try NewJob(queue: "poison", kind: AlwaysFails.kind, payloadJSON: "{}",
                                                   options: JobOptions(priority: -9)))
                try await queue.enqueue((0..<50).map { try NewJob(queue: "poison", Note(text: "\($0)")) })
                try await eventually("all 50 good jobs ran") { seen.count == 50 }
                #expect(try await queue.client.count("SELECT count(*)::int FROM queue.jobs WHERE status = 'dead'") == 2)
            }
        }
    }

    @Test func malformedClaimedPayloadsAndUnknownKindsGoDeadWithAClearReason() async throws {
        try await TestDatabase.with { db in
            var worker = try Worker(name: "test", queue: "mal")
            try worker.register(Note.self) { _, _ in }
            try await withWorker(worker, on: db) { queue in
                let wrongShape = try #require(try await queue.enqueue(try NewJob(queue: "mal", kind: Note.kind, payloadJSON: #"{"txt": 1}"#)).id)
                let wrongType = try #require(try await queue.enqueue(try NewJob(queue: "mal", kind: Note.kind, payloadJSON: #"{"text": 5}"#)).id)
                let unknown = try #require(try await queue.enqueue(try NewJob(queue: "mal", kind: "test.renamed", payloadJSON: "{}")).id)
                try await eventually("three dead jobs") {
                    try await queue.client.count("SELECT count(*)::int FROM queue.jobs WHERE status = 'dead'") == 3
                }
                let errors = try await queue.client.all("SELECT id, last_error, payload::text FROM queue.dead_jobs ORDER BY id",
                                                        as: (Int64, String, String).self, logger: db.logger)
                let byID = Dictionary(uniqueKeysWithValues: errors.map { ($0.0, ($0.1, $0.2)) })
                #expect(byID[wrongShape.rawValue]?.0.contains("missing field 'text'") == true)
                #expect(byID[wrongShape.rawValue]?.1 == #"{"txt": 1}"#, "the raw payload is kept")
                #expect(byID[wrongType.rawValue]?.0.contains("field 'text' is not String") == true)
                #expect(byID[unknown.rawValue]?.0.contains("no handler for job kind 'test.renamed'") == true)
                // Dead at once: no retries for what cannot improve.
                #expect(try await queue.client.count("SELECT max(attempt)::int FROM queue.jobs") == 1)
            }
        }
    }

    @Test func delayedJobRunsAtItsTimeWithoutWaitingForAPoll() async throws {
        try await TestDatabase.with { db in
            let seen = Recorder()
            var worker = try Worker(name: "test", queue: "later")
            try worker.register(Note.self) { note, context in
                let early = try await context.client.first(
                    "SELECT (now() < run_at)::bool FROM queue.jobs WHERE id = \(context.job.id.rawValue)", as: Bool.self, logger: context.logger)
                seen.record(early == true ? "early" : note.text)
            }
            // A 10-minute poll: only the scheduled wake-up can explain a run within the test.
            try await withWorker(worker, on: db, options: testOptions(poll: .seconds(600))) { queue in
                try await Task.sleep(for: .milliseconds(300))
                // One transaction, so both delays count from the same moment however busy the machine is.
                try await queue.enqueue([try NewJob(queue: "later", Note(text: "on time"), options: JobOptions(delay: .seconds(3))),
                                         try NewJob(queue: "later", Note(text: "sooner"), options: JobOptions(delay: .seconds(0.5)))])
                try await eventually("both delayed jobs ran", timeout: .seconds(60)) { seen.count == 2 }
            }
            #expect(seen.events == ["sooner", "on time"])
        }
    }

    /// The workers' one claim statement: the look-ahead comes with the jobs, or alone; due delayed
    /// jobs are promoted and claimed, later ones are not; a paused queue gives neither.
    @Test func theClaimReportsTheNextScheduledJobWithItsJobsOrAlone() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let queue = JobQueue(client: client, logger: db.logger)
                let empty = try await queue.claimAndLookAhead(queue: "la", owner: "w", limit: 5, lease: .seconds(30))
                #expect(empty.jobs.isEmpty && empty.nextScheduledIn == nil)

                try await queue.enqueue([try NewJob(queue: "la", Note(text: "now")),
                                         try NewJob(queue: "la", Note(text: "in an hour"), options: JobOptions(delay: .seconds(3600)))])
                let first = try await queue.claimAndLookAhead(queue: "la", owner: "w", limit: 5, lease: .seconds(30))
                #expect(first.jobs.map(\.payloadJSON) == [#"{"text": "now"}"#])
                let next = try #require(first.nextScheduledIn)
                #expect(next > 3500 && next <= 3600, "the hour-later job, \(next) s away")

                let alone = try await queue.claimAndLookAhead(queue: "la", owner: "w", limit: 5, lease: .seconds(30))
                #expect(alone.jobs.isEmpty, "the later job is not promoted early")
                #expect((alone.nextScheduledIn ?? 0) > 3500)

                // Due now: promoted and claimed by the same statement.
                try await client.execute("UPDATE queue.jobs SET run_at = now() - interval '1 second' WHERE queue = 'la' AND status = 'scheduled'",
                                         logger: db.logger)
                let due = try await queue.claimAndLookAhead(queue: "la", owner: "w", limit: 5, lease: .seconds(30))
                #expect(due.jobs.map(\.payloadJSON) == [#"{"text": "in an hour"}"#])
                #expect(due.jobs.first?.attempt == 1)

                try await queue.enqueue([try NewJob(queue: "la", Note(text: "paused")),
                                         try NewJob(queue: "la", Note(text: "later"), options: JobOptions(delay: .seconds(60)))])
                #expect(try await queue.pause(queue: "la", by: "ops", reason: "test"))
                let paused = try await queue.claimAndLookAhead(queue: "la", owner: "w", limit: 5, lease: .seconds(30))
                #expect(paused.jobs.isEmpty && paused.nextScheduledIn == nil, "a paused queue has nothing to claim or wake up for")
                // queue.claim: the same jobs without the look-ahead.
                #expect(try await queue.resume(queue: "la", by: "ops"))
                #expect(try await queue.claim(queue: "la", owner: "w", limit: 5, lease: .seconds(30)).map(\.payloadJSON) == [#"{"text": "paused"}"#])
            }
        }
    }

    @Test func handlerTransactionCommitsWorkAndCompletionTogether() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client in
                try await client.execute("CREATE TABLE effects (job_id bigint PRIMARY KEY, note text)", logger: db.logger)
            }
            let stolen = Recorder()
            var worker = try Worker(name: "test", queue: "tx-work")
            try worker.register(Note.self) { note, context in
                if note.text == "steal" {
                    // Someone else takes the lease (as the reaper would after an outage).
                    try await context.client.execute(
                        "UPDATE queue.jobs SET lease_owner = 'thief' WHERE id = \(context.job.id.rawValue)", logger: context.logger)
                }
                do {
                    try await context.transaction { connection in
                        try await connection.execute(
                            "INSERT INTO effects VALUES (\(context.job.id.rawValue), \(note.text))", logger: context.logger)
                    }
                } catch let error as QueueError where error.code == .leaseLost {
                    stolen.record(note.text)
                    throw error
                }
            }
            try await withWorker(worker, on: db) { queue in
                let kept = try #require(try await queue.enqueue(try NewJob(queue: "tx-work", Note(text: "keep"))).id)
                try await queue.enqueue(try NewJob(queue: "tx-work", Note(text: "steal")))
                // The stolen job is refused on every attempt (the reaper hands it back after its
                // lease), so on a loaded machine it may be refused more than once before we look.
                try await eventually("one completed, one refused") {
                    try await queue.status(of: kept)?.status == "completed" && stolen.count >= 1
                }
                #expect(try await queue.client.count("SELECT count(*)::int FROM effects") == 1)
                let note = try await queue.client.first("SELECT note FROM effects", as: String.self, logger: db.logger)
                #expect(note == "keep")
            }
        }
    }

    @Test func cancelRemovesWaitingJobsAndStopsRunningOnes() async throws {
        try await TestDatabase.with { db in
            let seen = Recorder()
            var worker = try Worker(name: "test", queue: "cancel")
            try worker.register(Note.self) { note, context in
                seen.record("started \(note.text)")
                while !context.isLeaseLost { try await Task.sleep(for: .milliseconds(50)) }
                seen.record("noticed \(note.text)")
            }
            try await withWorker(worker, on: db, options: testOptions(lease: .seconds(1))) { queue in
                let waiting = try #require(try await queue.enqueue(try NewJob(queue: "cancel", Note(text: "w"), options: JobOptions(delay: .seconds(3600)))).id)
                #expect(try await queue.cancel(waiting, reason: "citizen withdrew"))
                #expect(try await queue.status(of: waiting)?.status == "cancelled")
                #expect(try await queue.cancel(waiting) == false)

                let running = try #require(try await queue.enqueue(try NewJob(queue: "cancel", Note(text: "r"))).id)
                try await eventually("handler started") { seen.events.contains("started r") }
                #expect(try await queue.cancel(running))
                try await eventually("handler noticed the cancel at its next heartbeat") { seen.events.contains("noticed r") }
                #expect(try await queue.status(of: running)?.status == "cancelled")
            }
        }
    }

    @Test func reaperReturnsExpiredLeasesAndKillsJobsOutOfAttempts() async throws {
        try await TestDatabase.with { db in
            let seen = Recorder()
            var worker = try Worker(name: "test", queue: "orphans")
            try worker.register(Note.self) { note, context in seen.record("\(note.text)#\(context.job.attempt)") }
            try await db.withClient { client in
                // Two jobs a crashed worker left running; one has used its last attempt.
                try await client.execute("""
                    INSERT INTO queue.jobs (queue, kind, payload, status, attempt, max_attempts, lease_owner, lease_expires_at)
                    VALUES ('orphans', 'test.note', '{"text":"orphan"}', 'running', 1, 5, 'ghost', now() - interval '1 second'),
                           ('orphans', 'test.note', '{"text":"last"}', 'running', 5, 5, 'ghost', now() - interval '1 second'),
                           ('orphans', 'test.note', '{"text":"alive"}', 'running', 1, 5, 'other', now() + interval '1 hour')
                    """, logger: db.logger)
            }
            try await withWorker(worker, on: db, options: testOptions(lease: .seconds(1))) { queue in
                try await eventually("orphan retried") { seen.events.contains("orphan#2") }
                try await eventually("last one dead") {
                    try await queue.client.count("SELECT count(*)::int FROM queue.dead_jobs WHERE last_error LIKE 'lease expired%ghost%'") == 1
                }
                // A live lease is left alone.
                #expect(try await queue.client.count("SELECT count(*)::int FROM queue.jobs WHERE lease_owner = 'other'") == 1)
            }
            #expect(!seen.events.contains { $0.hasPrefix("alive") })
        }
    }

    @Test func gracefulShutdownFinishesShortJobsAndReleasesLongOnes() async throws {
        try await TestDatabase.with { db in
            let seen = Recorder()
            var worker = try Worker(name: "test", queue: "drain")
            try worker.register(Note.self) { note, _ in
                seen.record("start \(note.text)")
                try await Task.sleep(for: .milliseconds(note.sleepMilliseconds ?? 0))
                seen.record("done \(note.text)")
            }
            let queueName = "drain"
            try await withWorker(worker, on: db, options: testOptions(concurrency: 4, grace: .seconds(2))) { queue in
                try await queue.enqueue([
                    try NewJob(queue: queueName, Note(text: "short", sleepMilliseconds: 300)),
                    try NewJob(queue: queueName, Note(text: "long", sleepMilliseconds: 600_000)),
                ])
                try await eventually("both started") { seen.events.filter { $0.hasPrefix("start") }.count == 2 }
            }
            // The group has shut down: the short job finished, the long one was released untouched.
            #expect(seen.events.contains("done short"))
            #expect(!seen.events.contains("done long"))
            try await db.withClient { client in
                let n389 = try await client.count("SELECT count(*)::int FROM queue.finished_jobs WHERE payload->>'text' = 'short'")
                #expect(n389 == 1)
                #expect(try await client.count("""
                    SELECT count(*)::int FROM queue.jobs
                     WHERE payload->>'text' = 'long' AND status = 'available' AND attempt = 0 AND lease_owner IS NULL
                    """) == 1)
                #expect(try await client.count("SELECT count(*)::int FROM queue.workers") == 0)
            }
        }
    }

    /// A worker with a warm-up (intake-extraction trains its classifiers) claims nothing and does
    /// not sign in to `queue.workers` until the warm-up has succeeded; a failing warm-up is retried.
    @Test func aWarmingUpWorkerClaimsNothingUntilItIsReady() async throws {
        try await TestDatabase.with { db in
            let seen = Recorder()
            let attempts = Recorder()
            let (gate, open) = AsyncStream<Void>.makeStream()
            var worker = try Worker(name: "test", queue: "warm")
            try worker.register(Note.self) { note, _ in seen.record(note.text) }
            worker.warmUp = { client, logger in
                attempts.record("try")
                if attempts.count <= 2 { throw QueueError(.invalidArgument, "not yet (attempt \(attempts.count))") }
                // Third try: the jobs enqueued before the start are untouched, this process unlisted.
                let untouched = try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'warm' AND status = 'available'")
                let listed = try await client.count("SELECT count(*)::int FROM queue.workers")
                attempts.record("untouched \(untouched) listed \(listed)")
                for await _ in gate { break }
            }
            try await db.withClient { client in
                try await JobQueue(client: client, logger: db.logger).enqueue((0..<5).map { try NewJob(queue: "warm", Note(text: "w\($0)")) })
            }
            try await withWorker(worker, on: db) { queue in
                try await eventually("warm-up waiting at its third try") { attempts.events.contains { $0.hasPrefix("untouched") } }
                #expect(attempts.events.contains("untouched 5 listed 0"), "\(attempts.events)")
                #expect(seen.count == 0)
                open.yield()
                try await eventually("the jobs ran once ready") { seen.count == 5 }
                #expect(try await queue.client.count("SELECT count(*)::int FROM queue.workers") == 1)
            }
        }
    }

    /// Shutdown during a warm-up that never succeeds: the process stops cleanly and the jobs wait.
    @Test func aWorkerStoppedWhileWarmingUpLeavesTheQueueUntouched() async throws {
        try await TestDatabase.with { db in
            let attempts = Recorder()
            var worker = try Worker(name: "test", queue: "cold")
            try worker.register(Note.self) { _, _ in Issue.record("a job ran without a warm-up") }
            worker.warmUp = { _, _ in
                attempts.record("try")
                throw QueueError(.invalidArgument, "the model table is empty")
            }
            try await db.withClient { client in
                try await JobQueue(client: client, logger: db.logger).enqueue([try NewJob(queue: "cold", Note(text: "c"))])
            }
            try await withWorker(worker, on: db) { _ in
                try await eventually("the warm-up was retried") { attempts.count >= 2 }
            }
            try await db.withClient { client async throws in
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'cold' AND status = 'available' AND attempt = 0") == 1)
                #expect(try await client.count("SELECT count(*)::int FROM queue.workers") == 0)
            }
        }
    }

    @Test func pruneRemovesOnlyFinishedJobsPastRetention() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client in
                try await client.execute("""
                    INSERT INTO queue.finished_jobs (id, queue, kind, payload, status, priority, attempt, max_attempts, created_at, finished_at, errors)
                    SELECT g, 'p', 'k', '{}', 'completed', 0, 1, 20, now(), now() - make_interval(days => g), '[]'
                      FROM generate_series(1, 10) g
                    """, logger: db.logger)
                let queue = JobQueue(client: client, logger: db.logger)
                #expect(try await queue.pruneFinished(olderThan: .seconds(7 * 86400 - 60)) == 4)
                #expect(try await client.count("SELECT count(*)::int FROM queue.finished_jobs") == 6)
                #expect(try await client.count("SELECT max(id)::int FROM queue.finished_jobs") == 6)
            }
        }
    }

    @Test func statsReportDepthAndAge() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client in
                let queue = JobQueue(client: client, logger: db.logger)
                try await queue.enqueue((0..<3).map { try NewJob(queue: "s1", Note(text: "\($0)")) })
                try await queue.enqueue(try NewJob(queue: "s1", Note(text: "later"), options: JobOptions(delay: .seconds(3600))))
                try await queue.enqueue(try NewJob(queue: "s2", Note(text: "x")))
                let stats = try await queue.stats()
                #expect(stats.map(\.queue) == ["s1", "s2"])
                #expect(stats[0].available == 3 && stats[0].scheduled == 1 && stats[0].running == 0)
                #expect(stats[1].available == 1)
                #expect((stats[0].oldestReadyAgeSeconds ?? -1) >= 0)
            }
        }
    }
}
