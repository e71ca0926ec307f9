import Foundation
import Logging
import PostgresNIO
import Shared
import Synchronization
import Testing

/// Wake-ups raised inside a worker's job transaction are sent after its commit (a NOTIFY inside
/// would hold PostgreSQL's cluster-wide notify lock until the commit is flushed); everyone
/// else's still notify inside their transaction.
@Suite("Wake-ups after commit")
struct WakeupTests {
    /// A deferring transaction sends nothing at its commit: a marker notified after it arrives
    /// first (notifications arrive in commit order); the deferred payloads arrive once sent.
    @Test func aDeferringTransactionNotifiesOnlyWhenItsWakeupsAreSent() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let received = try await Self.listening(on: db, until: "after-send") {
                    // Outside a job transaction an enqueue notifies at its commit, as before.
                    try await JobQueue(client: client, logger: db.logger).enqueue(try NewJob(queue: "plain", NoteJob(text: "x")))
                    let deferred = try await client.transaction(logger: db.logger) { connection in
                        try await connection.execute("SELECT queue.defer_wakeups()", logger: db.logger)
                        try await connection.execute("SELECT queue.enqueue('later', 'note', '{}')", logger: db.logger)
                        try await connection.execute("SELECT queue.enqueue('later', 'note', '{}')", logger: db.logger)
                        try await connection.execute("SELECT queue.enqueue('other', 'note', '{}')", logger: db.logger)
                        return try await connection.first("SELECT queue.deferred_wakeups()", as: [String].self, logger: db.logger) ?? []
                    }
                    #expect(deferred == ["later", "other"], "each queue once, in the order raised")
                    try await client.execute("SELECT pg_notify('queue_jobs', 'marker')", logger: db.logger)
                    let sent = try await client.first("SELECT queue.send_wakeups(\(deferred))", as: Int.self, logger: db.logger)
                    #expect(sent == 2)
                    try await client.execute("SELECT pg_notify('queue_jobs', 'after-send')", logger: db.logger)
                }
                #expect(received == ["plain", "marker", "later", "other", "after-send"])
                // The deferral ended with its transaction.
                let after = try await client.first("SELECT queue.deferred_wakeups()", as: [String].self, logger: db.logger)
                #expect(after == [])
            }
        }
    }

    /// A handler's follow-up job wakes an idle worker of the next queue, whose poll is ten
    /// minutes: only the wake-up sent after the first job's commit explains prompt processing.
    @Test func aFollowUpJobWakesTheNextWorkerAfterTheCommit() async throws {
        try await TestDatabase.with { db in
            var firstWorker = try Worker(name: "first", queue: "first")
            try firstWorker.register(NoteJob.self) { note, context in
                try await context.transaction { connection in
                    _ = try await JobQueue.enqueue([try NewJob(queue: "second", NoteJob(text: note.text + "→second"))], on: connection, logger: context.logger)
                }
            }
            try await Self.expectFollowUpWakesAnIdleWorker(first: firstWorker, on: db)
        }
    }

    /// A group's one-statement write (as intake-extraction's and auto-dispatch's): the follow-up
    /// job's wake-up is collected, returned by `queue.finish_group` and sent after the commit, and
    /// still wakes the next worker. A write that forgets `queue.defer_wakeups()` still wakes it
    /// (from inside its transaction).
    @Test(arguments: [true, false])
    func aGroupWriteWakesTheNextWorkerAfterItsCommit(defers: Bool) async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await client.execute("""
                    CREATE FUNCTION follow_up(p_owner text, p_ids bigint[], p_texts text[], p_defer boolean) RETURNS text[]
                    LANGUAGE plpgsql AS $$
                    BEGIN
                        IF p_defer THEN PERFORM queue.defer_wakeups(); END IF;
                        PERFORM queue.enqueue('second', 'note', jsonb_build_object('text', t || '→second')) FROM unnest(p_texts) t;
                        RETURN queue.finish_group(p_owner, p_ids);
                    END
                    $$
                    """, logger: db.logger)
            }
            let collected = Mutex<[[String]]>([])
            let group = GroupCommit<String, Bool> { group in
                let wakeups = try await group.client.first("""
                    SELECT follow_up(\(group.owner), \(group.jobIDs.map(\.rawValue))::bigint[], \(group.items)::text[], \(defers))
                    """, as: [String].self, logger: group.logger) ?? []
                collected.withLock { $0.append(wakeups) }
                return GroupWrite(outcomes: group.items.map { _ in .done(true) }, wakeups: wakeups)
            }
            var firstWorker = try Worker(name: "first", queue: "first")
            try firstWorker.register(NoteJob.self) { note, context in _ = try await group.run(note.text, context) }
            try await Self.expectFollowUpWakesAnIdleWorker(first: firstWorker, on: db)
            #expect(collected.withLock { $0 } == [defers ? ["second"] : []],
                    defers ? "the wake-up waited for the commit" : "nothing deferred: the wake-up went out inside the transaction")
        }
    }

    /// Runs `first` (whose handler enqueues a follow-up on queue "second") beside an idle worker
    /// of "second" that polls every ten minutes, feeds `first` one job, and waits for the
    /// follow-up to be done: only a wake-up explains it within the minute.
    private static func expectFollowUpWakesAnIdleWorker(first: Worker, on db: TestDatabase) async throws {
        var second = try Worker(name: "second", queue: "second")
        try second.register(NoteJob.self) { _, _ in }
        let idle = testOptions(poll: .seconds(600))
        try await withWorker(second, on: db, options: idle) { queue in
            // The second worker's start-up claim has run; from now on it sleeps on its poll.
            try await eventually("second worker registered") {
                try await queue.client.count("SELECT count(*)::int FROM queue.workers") == 1
            }
            try await withWorker(first, on: db, options: idle) { firstQueue in
                _ = try await firstQueue.enqueue([try NewJob(queue: "first", NoteJob(text: "a"))])
                try await eventually("the follow-up done by the woken worker", timeout: .seconds(60)) {
                    try await queue.client.count("SELECT count(*)::int FROM queue.finished_jobs WHERE queue = 'second'") == 1
                }
            }
        }
    }

    /// Collects the payloads of `queue_jobs` notifications from `body`'s start until `last`.
    private static func listening(on db: TestDatabase, until last: String,
                                  _ body: @escaping @Sendable () async throws -> Void) async throws -> [String] {
        try await Admin.withConnection(on: db.url) { connection in
            try await connection.listen(on: "queue_jobs") { notifications in
                try await withThrowingTaskGroup(of: [String]?.self) { group in
                    group.addTask {
                        var payloads: [String] = []
                        for try await notification in notifications {
                            payloads.append(notification.payload)
                            if notification.payload == last { return payloads }
                        }
                        return payloads
                    }
                    group.addTask {
                        try await body()
                        return nil
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(60))
                        throw TestSetupError(description: "no notification \(last) within 60 s")
                    }
                    var result: [String] = []
                    while let next = try await group.next() {
                        if let payloads = next {
                            result = payloads
                            break
                        }
                    }
                    group.cancelAll()
                    return result
                }
            }
        }
    }
}

private struct NoteJob: JobPayload {
    static let kind = "note"
    let text: String
}
