import Foundation
import PostgresNIO
import Shared
import Testing

/// Pausing and resuming queues (sql/0018): in SQL, and with `hotline pause/resume/status`
/// against a real worker process.
@Suite("Queue pause")
struct QueuePauseTests {
    static func states(_ client: PostgresClient, _ queue: String) async throws -> [String] {
        try await client.all("""
            SELECT status FROM queue.jobs WHERE queue = \(queue)
            UNION ALL SELECT status FROM queue.finished_jobs WHERE queue = \(queue) ORDER BY 1
            """, as: String.self, logger: TestDatabase.logger)
    }

    @Test func aPausedQueueIsNotClaimedButKeepsItsJobsAndRunningOnesFinish() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let queue = JobQueue(client: client, logger: db.logger)
                try await queue.enqueue((0..<3).map { _ in try NewJob(queue: "pq", kind: "k", payloadJSON: "{}") })
                let held = try await queue.claim(queue: "pq", owner: "w1", limit: 1, lease: .seconds(30))
                #expect(held.count == 1)

                #expect(try await queue.pause(queue: "pq", by: "值班长", reason: "数据库维护"))
                #expect(try await queue.pause(queue: "pq", by: "someone else", reason: "again") == false, "already paused")
                #expect(try await queue.isPaused(queue: "pq"))
                // Delayed jobs that fall due while paused wait too (nothing is promoted or claimed).
                try await queue.enqueue(try NewJob(queue: "pq", kind: "k", payloadJSON: "{}", options: JobOptions(delay: .milliseconds(1))))
                try await queue.enqueue(try NewJob(queue: "pq", kind: "k", payloadJSON: "{}"))
                try await Task.sleep(for: .milliseconds(20))
                #expect(try await queue.claim(queue: "pq", owner: "w2", limit: 10, lease: .seconds(30)).isEmpty)
                #expect(try await queue.secondsUntilNextScheduled(queue: "pq") == nil, "a paused queue has nothing to wake up for")
                // The job claimed before the pause finishes under its lease.
                #expect(try await queue.complete(owner: "w1", ids: [held[0].id]) == [held[0].id])
                #expect(try await Self.states(client, "pq") == ["available", "available", "available", "completed", "scheduled"])

                let stats = try #require(try await queue.stats().first { $0.queue == "pq" })
                #expect(stats.pause?.reason == "数据库维护" && stats.pause?.by.hasPrefix("值班长 (login ") == true)
                #expect(stats.available == 3 && stats.due == 1 && stats.oldestJobID != nil && (stats.oldestJobAgeSeconds ?? -1) >= 0)

                #expect(try await queue.resume(queue: "pq", by: "值班长"))
                #expect(try await queue.resume(queue: "pq", by: "值班长") == false, "not paused any more")
                #expect(try await queue.claim(queue: "pq", owner: "w2", limit: 10, lease: .seconds(30)).count == 4)
                let after = try #require(try await queue.stats().first { $0.queue == "pq" })
                #expect(after.pause == nil)
            }
        }
    }

    @Test func anEmptyPausedQueueIsListedAndBadInputIsRefused() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let queue = JobQueue(client: client, logger: db.logger)
                try await queue.pause(queue: "empty-q", by: "ops", reason: "not yet")
                #expect(try await queue.stats().map(\.queue).contains("empty-q"))
                #expect(try await client.count("SELECT count(*)::int FROM queue.queue_stats WHERE queue = 'empty-q' AND paused AND available = 0") == 1)
                await #expect(throws: QueueError.self) { try await queue.pause(queue: "Bad Name", by: "ops", reason: "x") }
                await #expect(throws: QueueError.self) { try await queue.pause(queue: "q", by: "ops", reason: "   ") }
                await #expect(throws: QueueError.self) { try await queue.resume(queue: "q", by: "") }
                // The SQL entry points refuse the same on their own (for DBAs' psql).
                for bad in ["SELECT queue.pause('Bad Name', 'ops', 'x')", "SELECT queue.pause('q', 'ops', '')",
                            "SELECT queue.pause('q', NULL, 'x')", "SELECT queue.resume(NULL, 'ops')"] {
                    let error = await #expect(throws: DatabaseError.self) { try await client.execute(PostgresQuery(unsafeSQL: bad), logger: db.logger) }
                    #expect(error?.sqlState == "22023", "\(bad)")
                }
                #expect(try await client.count("SELECT count(*)::int FROM queue.queues WHERE name IN ('q', 'bad name')") == 0)
            }
        }
    }

    /// The resume's NOTIFY reaches a listener on the queue channel, with the queue's name.
    @Test func resumeWakesTheQueuesListeners() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await JobQueue(client: client, logger: db.logger).pause(queue: "wq", by: "ops", reason: "test")
            }
            try await Admin.withConnection(on: db.url) { listener in
                try await listener.listen(on: WakeupListener.channel(for: "wq")) { notifications in
                    try await db.withClient { client async throws in
                        _ = try await JobQueue(client: client, logger: db.logger).resume(queue: "wq", by: "ops")
                    }
                    var iterator = notifications.makeAsyncIterator()
                    let first = try await iterator.next()
                    #expect(first?.payload == "wq")
                }
            }
        }
    }

    /// The hotline's own loops: the SMS outbox and the SLA timers pause under their names.
    @Test func theOutboxAndTheTimersPauseUnderTheirNames() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await SLATimerTests.dispatch(client, "pause-loops")
                let queue = JobQueue(client: client, logger: db.logger)
                try await queue.pause(queue: "hotline.sms_outbox", by: "ops", reason: "gateway billing")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.claim_sms('s', 100, 30)") == 0)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sms_outlook() WHERE next_in IS NULL") == 1,
                        "nothing due while paused: the sender does not spin")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sms_outbox WHERE status = 'pending'") > 0, "messages wait")
                try await queue.resume(queue: "hotline.sms_outbox", by: "ops")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.claim_sms('s', 100, 30)") > 0)

                try await queue.pause(queue: "hotline.sla_timers", by: "ops", reason: "calendar fix")
                #expect(try await SLATimerTests.fire(client, ticket, after: "3 hours") == 0, "nothing fires while paused")
                let idle = try await client.first("SELECT fired, next_in IS NULL FROM hotline.fire_sla_timers(now() + interval '3 hours', 100)",
                                                  as: (Int, Bool).self, logger: db.logger)
                #expect(idle?.0 == 0 && idle?.1 == true)
                try await queue.resume(queue: "hotline.sla_timers", by: "ops")
                #expect(try await SLATimerTests.fire(client, ticket, after: "3 hours") > 0, "due points fire after the resume")
            }
        }
    }

    /// Ops' view: `hotline pause` stops a real worker process from claiming (also one started while
    /// paused: the state is in the database), `hotline status` shows it, and `hotline resume`
    /// wakes the idle worker at once — its backstop poll is a minute, so only the NOTIFY can.
    @Test func opsPauseAndResumeARealWorker() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await JobQueue(client: client, logger: db.logger).enqueue(
                    (0..<4).map { _ in try NewJob(queue: "ops-q", kind: FleetPing.kind, payloadJSON: #"{"note":"n"}"#) })
            }
            let paused = try await AdminCommandTests.hotline(["pause", "ops-q", "--reason", "换库维护", "--by", "值班长王"], database: db.url)
            #expect(paused.status == 0 && paused.output.contains("paused ops-q"), "\(paused.output)")

            let worker = try ProbeProcess(database: db.url, queue: "ops-q", environment: ["HOTLINE_POLL_SECONDS": "60"])
            do {
                try await db.withClient { client async throws in
                    try await QueueProcessTests.waitUntilListening(client, logger: db.logger)
                    try await eventually("worker registered") {
                        try await client.count("SELECT count(*)::int FROM queue.workers WHERE 'ops-q' = ANY (queues)") == 1
                    }
                    // A job enqueued now sends a NOTIFY the worker gets; still nothing is claimed.
                    try await JobQueue(client: client, logger: db.logger).enqueue(try NewJob(queue: "ops-q", kind: FleetPing.kind, payloadJSON: #"{"note":"n"}"#))
                    try await Task.sleep(for: .seconds(1.5))
                    #expect(try await Self.states(client, "ops-q") == Array(repeating: "available", count: 5))
                }
                let status = try await AdminCommandTests.hotline(["status"], database: db.url)
                #expect(status.status == 0)
                #expect(status.output.contains("PAUSED") && status.output.contains("换库维护") && status.output.contains("值班长王"), "\(status.output)")
                #expect(status.output.contains("workers alive: 1 (probe 1)"), "\(status.output)")

                let resumed = try await AdminCommandTests.hotline(["resume", "ops-q", "--by", "值班长王"], database: db.url)
                #expect(resumed.status == 0 && resumed.output.contains("resumed ops-q: 5 job(s) ready"), "\(resumed.output)")
                try await db.withClient { client async throws in
                    try await eventually("all claimed and done after the resume", timeout: .seconds(10)) {
                        try await Self.states(client, "ops-q") == Array(repeating: "completed", count: 5)
                    }
                }
                worker.terminate()
                #expect(await worker.waitForExit() == .exited(0))
                await worker.stop()
            } catch {
                await worker.stop()
                throw error
            }
        }
    }

    @Test func pauseRefusesBadNamesTyposAndAMissingReason() async throws {
        try await TestDatabase.with { db in
            let badName = try await AdminCommandTests.hotline(["pause", "Bad Name", "--reason", "x"], database: db.url)
            #expect(badName.status != 0 && badName.output.contains("is no queue name"), "\(badName.output)")
            let noReason = try await AdminCommandTests.hotline(["pause", "auto-dispatch"], database: db.url)
            #expect(noReason.status != 0 && noReason.output.contains("--reason"), "\(noReason.output)")
            let typo = try await AdminCommandTests.hotline(["pause", "auto-dispach", "--reason", "x"], database: db.url)
            #expect(typo.status != 0 && typo.output.contains("a typo?"), "\(typo.output)")
            let forced = try await AdminCommandTests.hotline(["pause", "auto-dispach", "--reason", "x", "--force"], database: db.url)
            #expect(forced.status == 0, "\(forced.output)")
            let loop = try await AdminCommandTests.hotline(["pause", "hotline.sms_outbox", "--reason", "gateway down"], database: db.url)
            #expect(loop.status == 0 && loop.output.contains("paused hotline.sms_outbox"), "\(loop.output)")
            let hint = try await AdminCommandTests.hotline(["pause", "sms-notify", "--reason", "x", "--force"], database: db.url)
            #expect(hint.output.contains("hotline.sms_outbox"), "pausing the ping queue points at the outbox: \(hint.output)")
            let notPaused = try await AdminCommandTests.hotline(["resume", "escalation"], database: db.url)
            #expect(notPaused.status == 0 && notPaused.output.contains("escalation was not paused"), "\(notPaused.output)")
        }
    }
}
