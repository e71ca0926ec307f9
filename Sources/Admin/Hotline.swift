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
        subcommands: [Migrate.self, Status.self, Pause.self, Resume.self, Enqueue.self, Dead.self, Cancel.self, LoadCorpus.self, Submit.self,
                      Tickets.self, Replay.self, Escalations.self, Dispatcher.self, Retain.self])
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
        return try await PostgresClient.withRunning(try url().clientConfiguration(applicationName: "hotline-admin", maximumConnections: 2),
                                                    backgroundLogger: logger) { client in
            try await body(client, logger)
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
    static let configuration = CommandConfiguration(abstract: "Queue depth and age, the oldest job per queue, paused queues, live workers.")
    @OptionGroup var connection: Connection
    @Flag(help: "Also count jobs finished in the last hour per queue.") var finished = false

    /// A worker that has not sent a heartbeat for this long is shown as silent (the runtime
    /// beats at least every 10 s).
    static let aliveWithin = 30.0

    /// 4.2s, 3m12s, 5h07m, 2d03h.
    static func age(_ seconds: Double) -> String {
        let whole = Int(seconds)
        switch seconds {
        case ..<60: return String(format: "%.1fs", seconds)
        case ..<3600: return "\(whole / 60)m\(String(format: "%02d", whole % 60))s"
        case ..<86400: return "\(whole / 3600)h\(String(format: "%02d", whole % 3600 / 60))m"
        default: return "\(whole / 86400)d\(String(format: "%02d", whole % 86400 / 3600))h"
        }
    }

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
            print(Table(["queue", "available", "due", "scheduled", "running", "expired", "dead", "oldest ready (s)", "oldest job", "state"],
                        stats.map { row in
                            [row.queue, "\(row.available)", "\(row.due)", "\(row.scheduled)", "\(row.running)",
                             "\(row.expiredLeases)", "\(row.dead)", row.oldestReadyAgeSeconds.map { String(format: "%.1f", $0) } ?? "-",
                             row.oldestJobID.map { "#\($0), \(Self.age(row.oldestJobAgeSeconds ?? 0)) old" } ?? "-",
                             row.pause == nil ? "running" : "PAUSED"]
                        }).render())
            let zone = try await client.first("SELECT hotline.setting('time_zone') #>> '{}'", as: String.self, logger: logger) ?? "UTC"
            let paused = try await client.all("""
                SELECT name, to_char(paused_at AT TIME ZONE \(zone), 'YYYY-MM-DD HH24:MI:SS'), paused_by, reason
                  FROM queue.queues WHERE paused ORDER BY paused_at
                """, as: (String, String, String, String).self, logger: logger)
            print()
            if paused.isEmpty {
                print("paused queues: none")
            } else {
                print(Table(["paused queue", "since (\(zone))", "by", "why"], paused.map { [$0.0, $0.1, $0.2, $0.3] }).render())
            }
            let workers = try await client.all("""
                SELECT w.worker_kind, w.owner, w.pid, w.in_flight, extract(epoch FROM now() - w.last_seen_at)::float8, w.stopping,
                       (SELECT count(*)::int FROM queue.jobs j WHERE j.status = 'running' AND j.lease_owner = w.owner),
                       to_char(w.started_at AT TIME ZONE \(zone), 'MM-DD HH24:MI:SS')
                  FROM queue.workers w ORDER BY w.worker_kind, w.owner
                """, as: (String, String, Int, Int, Double, Bool, Int, String).self, logger: logger)
            let alive = workers.filter { !$0.5 && $0.4 <= Self.aliveWithin }
            var perKind: [String: Int] = [:]
            for worker in alive { perKind[worker.0, default: 0] += 1 }
            print()
            print("workers alive: \(alive.count)" + (perKind.isEmpty ? "" : " (" + perKind.keys.sorted().map { "\($0) \(perKind[$0]!)" }.joined(separator: ", ") + ")")
                  + (workers.count > alive.count ? "; \(workers.count - alive.count) stopping or silent" : ""))
            print(Table(["worker", "owner", "pid", "started", "in flight", "leases held", "last seen (s ago)", "state"],
                        workers.map { [$0.0, $0.1, "\($0.2)", $0.7, "\($0.3)", "\($0.6)", String(format: "%.1f", $0.4),
                                       $0.5 ? "stopping" : ($0.4 > Self.aliveWithin ? "silent" : "alive")] }).render())
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
