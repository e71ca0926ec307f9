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
                // Notifications reach a session in commit order, across its channels; each
                // sequence below keeps the order of its own channel, so the markers go on later's.
                let received = try await Self.listening(on: db, to: ["plain", "later", "other"], until: "after-send") {
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
                    try await client.execute("SELECT pg_notify(queue.wake_channel('later'), 'marker')", logger: db.logger)
                    let sent = try await client.first("SELECT queue.send_wakeups(\(deferred))", as: Int.self, logger: db.logger)
                    #expect(sent == 2)
                    try await client.execute("SELECT pg_notify(queue.wake_channel('later'), 'after-send')", logger: db.logger)
                }
                #expect(received["plain"] == ["plain"])
                #expect(received["later"] == ["marker", "later", "after-send"], "the deferred wake-up only after the marker sent after its commit")
                #expect(received["other"] == ["other"])
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

    /// Collects the payloads each of `targets`' wake-up channels receives from `body`'s start
    /// until one of them receives `last`, by target.
    private static func listening(on db: TestDatabase, to targets: [String], until last: String,
                                  _ body: @escaping @Sendable () async throws -> Void) async throws -> [String: [String]] {
        let received = Received()
        try await Admin.withConnection(on: db.url) { connection in
            try await connection.listen(on: targets.map(WakeupListener.channel(for:))[...]) { sequences in
                try await withThrowingTaskGroup(of: Bool.self) { group in
                    for (target, notifications) in zip(targets, sequences) {
                        group.addTask {
                            for try await notification in notifications {
                                received.payloads.withLock { $0[target, default: []].append(notification.payload) }
                                if notification.payload == last { return true }
                            }
                            return false
                        }
                    }
                    group.addTask {
                        try await body()
                        return false
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(60))
                        throw TestSetupError(description: "no notification \(last) within 60 s")
                    }
                    while let done = try await group.next(), !done {}
                    group.cancelAll()
                }
            }
        }
        return received.payloads.withLock { $0 }
    }

    private final class Received: Sendable {
        let payloads = Mutex<[String: [String]]>([:])
    }

    /// Each queue (or watched table) has a channel of its own, named alike in SQL and Swift; a
    /// name too long for a channel goes by its MD5.
    @Test func everyQueueHasAChannelOfItsOwn() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let names = ["intake-extraction", "hotline.sms_outbox", "q", String(repeating: "a", count: 52),
                             String(repeating: "b", count: 53), "队列" + String(repeating: "c", count: 60)]
                for name in names {
                    let sql = try await client.first("SELECT queue.wake_channel(\(name))", as: String.self, logger: db.logger)
                    #expect(sql == WakeupListener.channel(for: name), "\(name)")
                    #expect((sql ?? "").utf8.count <= 63, "fits a channel name: \(name)")
                }
                #expect(WakeupListener.channel(for: "intake-extraction") == "queue_jobs.intake-extraction")
                #expect(Set(names.map(WakeupListener.channel(for:))).count == names.count)
            }
        }
    }

    /// A process's listener wakes its subscribers for their own queues only, and a subscription
    /// made while it listens is picked up (the session starts again with the new channel).
    @Test func theListenerWakesOnlyForItsOwnChannels() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let listener = WakeupListener(client: client, logger: db.logger)
                let mine = WakeSignal()
                listener.subscribe(queue: "mine", signal: mine)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await listener.run() }
                    defer { group.cancelAll() }
                    // The catch-up wake comes once every channel is listened on.
                    #expect(await mine.wait(timeout: .seconds(30)), "the catch-up wake after LISTEN")
                    try await client.execute("SELECT queue.wake('someone-else')", logger: db.logger)
                    #expect(await mine.wait(timeout: .seconds(1)) == false, "another queue's wake-up does not reach this process")
                    try await client.execute("SELECT queue.wake('mine')", logger: db.logger)
                    #expect(await mine.wait(timeout: .seconds(30)), "its own does")

                    let later = WakeSignal()
                    listener.subscribe(queue: "later", signal: later)
                    #expect(await later.wait(timeout: .seconds(30)), "the catch-up wake of the new session")
                    try await client.execute("SELECT queue.wake('later')", logger: db.logger)
                    #expect(await later.wait(timeout: .seconds(30)), "the new subscription's own wake-up")
                }
            }
        }
    }
}

private struct NoteJob: JobPayload {
    static let kind = "note"
    let text: String
}
