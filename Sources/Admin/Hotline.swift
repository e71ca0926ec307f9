import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Shared

/// `hotline`: the ops and DBA command. Every subcommand reads DATABASE_URL.
@main
struct Hotline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hotline",
        abstract: "Operate the hotline fleet's database: migrations, queue status, jobs, tickets.",
        subcommands: [Migrate.self, Status.self, Enqueue.self, Dead.self, Cancel.self, LoadCorpus.self, Submit.self, Tickets.self, Escalations.self, Dispatcher.self, Retain.self])
}

struct Connection: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "Overrides DATABASE_URL.")
    var databaseURL: String?

    func url() throws -> DatabaseURL {
        let environment = EnvironmentReader()
        if let databaseURL { return try DatabaseURL(databaseURL, variable: "--database-url") }
        guard let text = try environment.secret("DATABASE_URL") else {
            throw ConfigurationError(variable: "DATABASE_URL", message: "not set; expected postgres://user:password@host:port/database")
        }
        return try DatabaseURL(text)
    }

    /// Runs `body` with a running client, shutting it down afterwards.
    func withClient<R: Sendable>(_ body: @Sendable (PostgresClient, Logger) async throws -> R) async throws -> R {
        var logger = Logger(label: "hotline")
        logger.logLevel = .error
        let client = PostgresClient(configuration: try url().clientConfiguration(applicationName: "hotline-admin", maximumConnections: 2),
                                    backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask { await client.run(); return nil }
            defer { group.cancelAll() }
            return try await body(client, logger)
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations from sql/ (safe to run from many places at once).")
    @OptionGroup var connection: Connection
    @Option(help: "Folder of numbered .sql files (default: HOTLINE_SQL_DIR or ./sql).")
    var sqlDir: String?

    func run() async throws {
        var logger = Logger(label: "hotline-migrate")
        logger.logLevel = .info
        let directory = try sqlDir.map { URL(fileURLWithPath: $0) } ?? Migrator.locateDirectory()
        let outcome = try await Migrator(directory: directory, logger: logger).migrate(url: try connection.url())
        print("migrations: \(outcome.applied.count) applied (\(outcome.applied.map(String.init).joined(separator: ", "))), \(outcome.alreadyApplied.count) already in place")
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Queue depth and age, live workers.")
    @OptionGroup var connection: Connection
    @Flag(help: "Also count jobs finished in the last hour per queue.") var finished = false

    func run() async throws {
        let finished = self.finished
        try await connection.withClient { client, logger in
            if finished {
                let rows = try await client.all("""
                    SELECT queue, count(*) FILTER (WHERE status = 'completed')::int, count(*) FILTER (WHERE status = 'cancelled')::int,
                           coalesce(round(avg(extract(epoch FROM finished_at - created_at)) * 1000)::int, 0)
                      FROM queue.finished_jobs WHERE finished_at > now() - interval '1 hour'
                     GROUP BY queue ORDER BY queue
                    """, as: (String, Int, Int, Int).self, logger: logger)
                print(Table(["queue", "completed (1 h)", "cancelled (1 h)", "avg enqueue→done (ms)"],
                            rows.map { [$0.0, "\($0.1)", "\($0.2)", "\($0.3)"] }).render())
                print()
            }
            let stats = try await JobQueue(client: client, logger: logger).stats()
            print(Table(["queue", "available", "due", "scheduled", "running", "expired", "dead", "oldest ready (s)"],
                        stats.map { [$0.queue, "\($0.available)", "\($0.due)", "\($0.scheduled)", "\($0.running)",
                                     "\($0.expiredLeases)", "\($0.dead)", $0.oldestReadyAgeSeconds.map { String(format: "%.1f", $0) } ?? "-"] }).render())
            let workers = try await client.all("""
                SELECT worker_kind, owner, in_flight, extract(epoch FROM now() - last_seen_at)::float8, stopping
                  FROM queue.workers ORDER BY worker_kind, owner
                """, as: (String, String, Int, Double, Bool).self, logger: logger)
            print()
            print(Table(["worker", "owner", "in flight", "last seen (s ago)", "state"],
                        workers.map { [$0.0, $0.1, "\($0.2)", String(format: "%.1f", $0.3), $0.4 ? "stopping" : ($0.3 > 60 ? "silent" : "alive")] }).render())
        }
    }
}

struct Enqueue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Enqueue jobs by hand (ops, smoke tests).")
    @OptionGroup var connection: Connection
    @Option var queue: String
    @Option var kind: String = FleetPing.kind
    @Option(help: "JSON object payload.") var payload: String = #"{"note":"from hotline enqueue"}"#
    @Option var count: Int = 1
    @Option(help: "Delay in seconds.") var delay: Double = 0
    @Option var priority: Int16 = 0
    @Option var uniqueKey: String?

    func run() async throws {
        guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be 1...1000000") }
        let options = JobOptions(priority: priority, delay: delay > 0 ? .seconds(delay) : nil, uniqueKey: uniqueKey)
        let job = try NewJob(queue: queue, kind: kind, payloadJSON: payload, options: options)
        let count = self.count
        try await connection.withClient { client, logger in
            let jobs = JobQueue(client: client, logger: logger)
            var enqueued = 0
            var duplicates = 0
            var remaining = count
            while remaining > 0 {
                let chunk = min(remaining, 5000)
                let results = try await jobs.enqueue(Array(repeating: job, count: chunk))
                enqueued += results.filter { !$0.duplicate }.count
                duplicates += results.filter(\.duplicate).count
                remaining -= chunk
            }
            print("enqueued \(enqueued) job(s) on \(job.queue)\(duplicates > 0 ? ", \(duplicates) duplicate(s) ignored" : "")")
        }
    }
}

struct Dead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List dead jobs, or put them back to work.")
    @OptionGroup var connection: Connection
    @Option var queue: String?
    @Flag(help: "Retry the dead jobs of --queue (all, or those given with --id).") var retry = false
    @Option(name: .customLong("id")) var ids: [Int64] = []

    func run() async throws {
        let queue = self.queue, retry = self.retry, ids = self.ids
        try await connection.withClient { client, logger in
            if retry {
                guard let queue else { throw ValidationError("--retry needs --queue") }
                let count = try await JobQueue(client: client, logger: logger)
                    .retryDead(queue: queue, ids: ids.isEmpty ? nil : ids.map(JobID.init))
                print("\(count) dead job(s) on \(queue) put back to work")
                return
            }
            let rows = try await client.all("""
                SELECT id, queue, kind, attempt, coalesce(last_error, '') FROM queue.dead_jobs
                 WHERE \(queue ?? "") = '' OR queue = \(queue ?? "") ORDER BY id LIMIT 200
                """, as: (Int64, String, String, Int, String).self, logger: logger)
            print(Table(["id", "queue", "kind", "attempts", "last error"],
                        rows.map { ["\($0.0)", $0.1, $0.2, "\($0.3)", String($0.4.prefix(100))] }).render())
        }
    }
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel an unfinished job.")
    @OptionGroup var connection: Connection
    @Argument var id: Int64
    @Option var reason: String = "cancelled by operator"

    func run() async throws {
        let id = self.id, reason = self.reason
        try await connection.withClient { client, logger in
            let done = try await JobQueue(client: client, logger: logger).cancel(JobID(id), reason: reason)
            print(done ? "job \(id) cancelled" : "no unfinished job \(id)")
        }
    }
}

struct LoadCorpus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-corpus",
        abstract: "Load a labelled complaint corpus (TSV: id, channel, text, district, street, category, urgency, enterprise, sensitive) as training examples.")
    @OptionGroup var connection: Connection
    @Argument(help: "The TSV file (default data/complaints-corpus.tsv).") var file: String = "data/complaints-corpus.tsv"

    func run() async throws {
        let rows = try LabelledCorpus.read(path: file)
        let added = try await connection.withClient { client, logger in
            try await client.transaction(logger: logger) { connection in
                try await LabelledCorpus.store(rows, on: connection, logger: logger)
            }
        }
        print("corpus: \(added) example(s) added, \(rows.count - added) already present")
    }
}
