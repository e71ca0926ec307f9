import Foundation
import Logging
import PostgresNIO
import Shared
import Synchronization
import Testing

/// Group commit: concurrent jobs share transactions, every job's write and completion commit
/// together, and a failing job is retried alone without failing its batch neighbours.
@Suite("Group commit")
struct GroupCommitTests {
    @Test func concurrentJobsShareTransactionsAndEachCommitsExactlyOnce() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await client.execute("CREATE TABLE notes (text text PRIMARY KEY, txid bigint NOT NULL)", logger: db.logger)
            }
            let sizes = Mutex<[Int]>([])
            let group = GroupCommit<String, Int64> { connection, texts, logger in
                sizes.withLock { $0.append(texts.count) }
                var ids: [Int64] = []
                for text in texts {
                    let txid = try await connection.first(
                        "INSERT INTO notes VALUES (\(text), txid_current()) RETURNING txid", as: Int64.self, logger: logger)
                    ids.append(txid ?? 0)
                }
                return ids
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
            try await db.withClient { client async throws in
                try await client.execute("CREATE TABLE notes (text text PRIMARY KEY CHECK (text <> 'bad'))", logger: db.logger)
            }
            let group = GroupCommit<String, Bool> { connection, texts, logger in
                for text in texts {
                    try await connection.execute("INSERT INTO notes VALUES (\(text))", logger: logger)
                }
                return texts.map { _ in true }
            }
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
}
