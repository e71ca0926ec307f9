import Foundation
import Logging
import PostgresNIO
import Shared
import Synchronization
import Testing

/// Group commit: concurrent jobs share groups, each group writes and completes its jobs in one
/// statement, a failing job is retried alone without failing its neighbours, a stale read runs
/// its job again in a later group, and a lost lease rolls the write back.
@Suite("Group commit")
struct GroupCommitTests {
    /// The table the test groups write, and their one-statement write: the notes, then the jobs'
    /// completion (`queue.finish_group`), as intake-extraction's and auto-dispatch's writes do.
    private static func createNotes(_ db: TestDatabase) async throws {
        try await db.withClient { client async throws in
            try await client.execute("CREATE TABLE notes (text text PRIMARY KEY CHECK (text <> 'bad'), txid bigint NOT NULL)", logger: db.logger)
            try await client.execute("""
                CREATE FUNCTION write_notes(p_owner text, p_ids bigint[], p_texts text[]) RETURNS text[]
                LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM queue.defer_wakeups();
                    INSERT INTO notes SELECT t, txid_current() FROM unnest(p_texts) t;
                    RETURN queue.finish_group(p_owner, p_ids);
                END
                $$
                """, logger: db.logger)
        }
    }

    /// Writes the group's texts where `done` says so and completes those jobs; the rest are `.again`.
    private static func write(_ group: JobGroup<String>, done: (String) -> Bool = { _ in true }) async throws -> GroupWrite<Bool> {
        let picked = group.items.indices.filter { done(group.items[$0]) }
        let wakeups = try await group.client.first("""
            SELECT write_notes(\(group.owner), \(picked.map { group.jobIDs[$0].rawValue })::bigint[], \(picked.map { group.items[$0] })::text[])
            """, as: [String].self, logger: group.logger) ?? []
        return GroupWrite(outcomes: group.items.map { done($0) ? .done(true) : .again }, wakeups: wakeups)
    }

    @Test func concurrentJobsShareGroupsAndEachCommitsExactlyOnce() async throws {
        try await TestDatabase.with { db in
            try await Self.createNotes(db)
            let sizes = Mutex<[Int]>([])
            let group = GroupCommit<String, Bool> { group in
                sizes.withLock { $0.append(group.items.count) }
                return try await Self.write(group)
            }
            var worker = try Worker(name: "group", queue: "group")
            try worker.register(Note.self) { note, context in
                _ = try await group.run(note.text, context)
            }
            try await withWorker(worker, on: db, options: testOptions(concurrency: 16, batch: 16)) { queue in
                _ = try await queue.enqueue((0..<200).map { try NewJob(queue: "group", Note(text: "n\($0)")) })
                try await eventually("all done") {
                    try await queue.client.count("SELECT count(*)::int FROM queue.finished_jobs WHERE queue = 'group'") == 200
                }
                let client = queue.client
                #expect(try await client.count("SELECT count(*)::int FROM notes") == 200, "each job's write exactly once")
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'group'") == 0)
                let transactions = try await client.count("SELECT count(DISTINCT txid)::int FROM notes")
                #expect(transactions < 200, "jobs shared transactions (\(transactions) for 200 jobs)")
            }
            #expect(sizes.withLock { $0.reduce(0, +) } == 200)
            #expect(sizes.withLock { $0.max() ?? 0 } > 1)
        }
    }

    @Test func aFailingJobIsRetriedAloneAndItsNeighboursCommit() async throws {
        try await TestDatabase.with { db in
            try await Self.createNotes(db)
            let group = GroupCommit<String, Bool> { group in try await Self.write(group) }
            var worker = try Worker(name: "group", queue: "group")
            try worker.register(Note.self) { note, context in
                _ = try await group.run(note.text, context)
            }
            try await withWorker(worker, on: db, options: testOptions(concurrency: 16, batch: 16)) { queue in
                let texts = (0..<40).map { $0 == 17 ? "bad" : "ok\($0)" }
                _ = try await queue.enqueue(texts.map { try NewJob(queue: "group", Note(text: $0), options: JobOptions(maxAttempts: 1)) })
                try await eventually("39 done, 1 dead") {
                    let done = try await queue.client.count("SELECT count(*)::int FROM queue.finished_jobs WHERE queue = 'group'")
                    let dead = try await queue.client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'group' AND status = 'dead'")
                    return done == 39 && dead == 1
                }
                #expect(try await queue.client.count("SELECT count(*)::int FROM notes") == 39)
                let error = try await queue.client.first(
                    "SELECT errors::text FROM queue.jobs WHERE status = 'dead'", as: String.self, logger: db.logger)
                #expect(error?.contains("notes_text_check") == true, "the dead job keeps its own error: \(error ?? "-")")
            }
        }
    }

    /// A job whose read went stale is neither written nor completed by that group's write; it
    /// stays held and runs again in a later group. One that keeps going stale fails (retried later).
    @Test func aStaleJobRunsAgainInALaterGroupAndARestlessOneFails() async throws {
        try await TestDatabase.with { db in
            try await Self.createNotes(db)
            let visits = Mutex<[String: Int]>([:])
            let statusOnSecondVisit = Mutex<[String]>([])
            let group = GroupCommit<String, Bool> { group in
                var done: Set<String> = []
                for (text, id) in zip(group.items, group.jobIDs) {
                    let visit = visits.withLock { visits -> Int in
                        visits[text, default: 0] += 1
                        return visits[text]!
                    }
                    if visit == 2 && text.hasPrefix("stale") {
                        let status = try await group.client.first("SELECT status FROM queue.jobs WHERE id = \(id.rawValue)",
                                                                  as: String.self, logger: group.logger)
                        statusOnSecondVisit.withLock { $0.append(status ?? "gone") }
                    }
                    if text == "restless" || (text.hasPrefix("stale") && visit == 1) { continue }
                    done.insert(text)
                }
                return try await Self.write(group) { done.contains($0) }
            }
            var worker = try Worker(name: "group", queue: "group")
            try worker.register(Note.self) { note, context in
                _ = try await group.run(note.text, context)
            }
            try await withWorker(worker, on: db, options: testOptions(concurrency: 8, batch: 8)) { queue in
                let texts = ["a", "stale1", "b", "stale2", "restless", "c"]
                _ = try await queue.enqueue(texts.map { try NewJob(queue: "group", Note(text: $0), options: JobOptions(maxAttempts: 1)) })
                try await eventually("5 done, the restless one dead") {
                    let done = try await queue.client.count("SELECT count(*)::int FROM queue.finished_jobs WHERE queue = 'group'")
                    let dead = try await queue.client.count("SELECT count(*)::int FROM queue.jobs WHERE queue = 'group' AND status = 'dead'")
                    return done == 5 && dead == 1
                }
                let notes = try await queue.client.all("SELECT text FROM notes ORDER BY text", as: String.self, logger: db.logger)
                #expect(notes == ["a", "b", "c", "stale1", "stale2"], "each written once; the restless one never")
                let error = try await queue.client.first(
                    "SELECT errors::text FROM queue.jobs WHERE status = 'dead'", as: String.self, logger: db.logger)
                #expect(error?.contains("changed before its write 5 times") == true, "\(error ?? "-")")
            }
            #expect(statusOnSecondVisit.withLock { $0 } == ["running", "running"], "a stale job stays held, not completed")
            #expect(visits.withLock { $0["restless"] } == 5)
            #expect(visits.withLock { $0["stale1"] } == 2)
        }
    }

    /// A write whose lease is gone (here: cancelled by an operator while the group worked)
    /// raises QL001 in `queue.finish_group` and commits nothing; the runtime treats it as a lost
    /// lease. The same call holding the lease commits.
    @Test func aLostLeaseRollsTheWholeWriteBack() async throws {
        try await TestDatabase.with { db in
            try await Self.createNotes(db)
            let group = GroupCommit<String, Bool> { group in
                if group.items.contains("cancelled") {
                    _ = try await JobQueue(client: group.client, logger: group.logger).cancel(group.jobIDs[0], reason: "operator")
                }
                return try await Self.write(group)
            }
            var worker = try Worker(name: "group", queue: "group")
            try worker.register(Note.self) { note, context in
                _ = try await group.run(note.text, context)
            }
            try await withWorker(worker, on: db, options: testOptions(concurrency: 1, batch: 1)) { queue in
                let cancelled = try await queue.enqueue(try NewJob(queue: "group", Note(text: "cancelled")))
                try await eventually("cancelled") {
                    try await queue.status(of: cancelled.id!)?.status == "cancelled"
                }
                _ = try await queue.enqueue(try NewJob(queue: "group", Note(text: "kept")))
                try await eventually("kept done") {
                    try await queue.client.count("SELECT count(*)::int FROM notes WHERE text = 'kept'") == 1
                }
                #expect(try await queue.client.count("SELECT count(*)::int FROM notes WHERE text = 'cancelled'") == 0,
                        "the write whose lease was lost committed nothing")
                #expect(try await queue.status(of: cancelled.id!)?.status == "cancelled")
            }
            // Directly: QL001, and the notes it inserted are rolled back.
            try await db.withClient { client async throws in
                let id = try await client.first("SELECT queue.enqueue('elsewhere', 'note')", as: Int64.self, logger: db.logger) ?? Int64(0)
                do {
                    _ = try await client.first("SELECT write_notes('nobody', \([id])::bigint[], '{lost}'::text[])", as: [String].self, logger: db.logger)
                    Issue.record("a write without the lease must fail")
                } catch let error as DatabaseError {
                    #expect(error.sqlState == "QL001")
                    #expect(error.message.contains("lease lost"))
                }
                #expect(try await client.count("SELECT count(*)::int FROM notes WHERE text = 'lost'") == 0)
            }
        }
    }
}
