import ArgumentParser
import FaultSuite
import Foundation
import Logging
import PostgresNIO
import Shared

/// `hotline-bench run`: the queue benchmark. Starts its own PostgreSQL 15 cluster with default
/// durability (fsync and synchronous_commit on), then measures in one run: enqueue rates,
/// drain throughput for 1/2/4 worker processes × claim batch 1/10/100, wake-up latency on an
/// idle fleet, claim time with a 1,000,000-job backlog, and two references on the same cluster:
/// PgQueuer and a pgbench script doing the raw claim+complete cycle with batch 100.
/// Prints a Markdown table. Build with `-c release`.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the queue benchmark and print a table.")

    @Flag(help: "Smaller sizes (a quick look, not for the README).") var quick = false
    @Option(help: "Port for the benchmark's own cluster.") var port = 25450
    @Flag(help: "Skip the PgQueuer and pgbench references.") var noReferences = false
    @Option(help: "The dispatch section's latency rates in tickets/s, comma-separated (where p99 crosses a target shows this machine's capacity).")
    var dispatchRates: String = "50,200"
    @Option(help: "Only these sections (enqueue, drain, latency, claim, intake, dispatch, timers, sms, pgqueuer, raw), comma-separated.") var only: String?

    func validate() throws { _ = try rates() }

    /// The parsed `--dispatch-rates`.
    private func rates() throws -> [Int] {
        let rates = dispatchRates.split(separator: ",", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        // Up to 999 and each once: a rate names its run's tickets and its callers' block of
        // eight-digit phone numbers.
        guard !rates.isEmpty, rates.allSatisfy({ (1...999).contains($0 ?? 0) }), Set(rates).count == rates.count else {
            throw ValidationError("--dispatch-rates takes distinct tickets/s from 1 to 999, comma-separated (got '\(dispatchRates)')")
        }
        return rates.compactMap { $0 }
    }

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let root = try Bench.repositoryRoot()
        let sections = only.map { Set($0.split(separator: ",").map(String.init)) }
        func wanted(_ name: String) -> Bool { sections?.contains(name) ?? true }

        let pgCluster = root.appendingPathComponent("ops/pg-cluster").path
        note("starting the benchmark cluster (default durability) on port \(port)")
        _ = try await Bench.shell(pgCluster, ["start", "bench", String(port)])
        let server = try DatabaseURL("postgres://postgres@127.0.0.1:\(port)/postgres?sslmode=disable")
        // The dispatch section reads each transaction's commit time (submit commit → dispatched
        // commit, as the target is defined), which the server keeps only with this on.
        if try await Bench.adminCount(server, "SELECT (current_setting('track_commit_timestamp') = 'on')::int") == 0 {
            note("turning on track_commit_timestamp (a restart)")
            try await Bench.admin(server, "ALTER SYSTEM SET track_commit_timestamp = on")
            _ = try await Bench.shell(pgCluster, ["stop", "bench"])
            _ = try await Bench.shell(pgCluster, ["start", "bench", String(port)])
        }
        let url = server.with(database: "bench")
        try await Bench.admin(server, "DROP DATABASE IF EXISTS bench WITH (FORCE)")
        try await Bench.admin(server, "CREATE DATABASE bench")
        try await Migrator(directory: root.appendingPathComponent("sql"), logger: logger).migrate(url: url)

        var report = Report()
        try await PostgresClient.withRunning(url.clientConfiguration(applicationName: "bench", maximumConnections: 12),
                                             backgroundLogger: logger) { client in
            let settings = try await client.all(
                "SELECT version(), current_setting('fsync'), current_setting('synchronous_commit'), current_setting('shared_buffers'), current_setting('track_commit_timestamp')",
                as: (String, String, String, String, String).self, logger: logger)[0]
            report.context = [
                "machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB",
                "PostgreSQL: \(settings.0.split(separator: " ").prefix(2).joined(separator: " ")), fsync=\(settings.1), synchronous_commit=\(settings.2), shared_buffers=\(settings.3), track_commit_timestamp=\(settings.4)",
                "date: \(Date().formatted(.iso8601))",
            ]
            let bench = Bench(client: client, url: url, logger: logger, quick: quick, root: root, dispatchRates: try rates())
            if wanted("enqueue") { try await bench.enqueue(into: &report) }
            if wanted("drain") { try await bench.drain(into: &report) }
            if wanted("latency") { try await bench.latency(into: &report) }
            if wanted("claim") { try await bench.claimTime(into: &report) }
            if wanted("intake") { try await bench.intake(into: &report) }
            if wanted("dispatch") { try await bench.dispatch(into: &report) }
            if wanted("timers") { try await bench.timers(into: &report) }
            if wanted("sms") { try await bench.sms(into: &report) }
            if !noReferences && wanted("pgqueuer") { await bench.pgQueuer(server: server, into: &report) }
            if !noReferences && wanted("raw") { await bench.rawLimit(server: server, into: &report) }
        }
        print(report.render())
        _ = try? await Bench.shell(pgCluster, ["stop", "bench"])
    }
}

func note(_ text: String) {
    FileHandle.standardError.write(Data("[bench] \(text)\n".utf8))
}

struct Report {
    var context: [String] = []
    var rows: [[String]] = []
    var drainBest: Double?
    var pgQueuerDrain: Double?
    var rawLimit: Double?

    mutating func add(_ section: String, _ measure: String, _ value: String, _ notes: String = "") {
        rows.append([section, measure, value, notes])
    }

    func render() -> String {
        var out = context.map { "- \($0)" }.joined(separator: "\n") + "\n\n"
        out += "| section | measure | value | notes |\n|---|---|---|---|\n"
        for row in rows { out += "| " + row.joined(separator: " | ") + " |\n" }
        if let ours = drainBest {
            if let pgq = pgQueuerDrain { out += "\nBest drain vs PgQueuer: \(String(format: "%.1f", ours / pgq))× (same run, same cluster)" }
            if let raw = rawLimit { out += "\nBest drain vs raw SQL limit: \(String(format: "%.0f", 100 * ours / raw)) %" }
            out += "\n"
        }
        return out
    }
}

struct Bench: Sendable {
    let client: PostgresClient
    let url: DatabaseURL
    let logger: Logger
    let quick: Bool
    let root: URL
    /// The dispatch section's latency rates (tickets/s).
    var dispatchRates = [50, 200]

    // MARK: enqueue

    func enqueue(into report: inout Report) async throws {
        let queue = JobQueue(client: client, logger: logger)
        let total = quick ? 20_000 : 100_000
        let job = try NewJob(queue: "enqueue-bench", NoOpJob())
        let batchStart = ContinuousClock.now
        for _ in 0..<(total / 1000) {
            try await queue.enqueue(Array(repeating: job, count: 1000))
        }
        let batchRate = Double(total) / (ContinuousClock.now - batchStart).seconds
        report.add("enqueue", "jobs/s, batches of 1,000, 1 connection", Self.rate(batchRate), "one statement and one commit (one NOTIFY) per batch")

        let perTask = quick ? 250 : 1000
        let singleStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<perTask { try await queue.enqueue(job) }
                }
            }
            try await group.waitForAll()
        }
        let singleRate = Double(4 * perTask) / (ContinuousClock.now - singleStart).seconds
        report.add("enqueue", "jobs/s, one job per transaction, 4 connections", Self.rate(singleRate), "each commit flushes WAL and sends a NOTIFY")
        try await client.execute("DELETE FROM queue.jobs WHERE queue = 'enqueue-bench'", logger: logger)
    }

    // MARK: drain

    func drain(into report: inout Report) async throws {
        var best = 0.0
        for processes in [1, 2, 4] {
            for batch in [1, 10, 100] {
                let jobs = (batch == 1 ? 6_000 : batch == 10 ? 30_000 : 100_000) / (quick ? 5 : 1)
                let rate = try await drainOnce(processes: processes, batch: batch, jobs: jobs)
                best = max(best, rate)
                report.add("drain", "no-op jobs/s, \(processes) process\(processes > 1 ? "es" : ""), claim batch \(batch)",
                           Self.rate(rate), "\(jobs) jobs; concurrency \(max(batch, 8)) per process; completions batched")
            }
        }
        report.drainBest = best
    }

    private func drainOnce(processes: Int, batch: Int, jobs: Int) async throws -> Double {
        let queueName = "drain-p\(processes)-b\(batch)"
        note("drain: \(processes) process(es), batch \(batch), \(jobs) jobs")
        let workers = try (0..<processes).map { _ in
            try spawnWorker(queue: queueName, environment: [
                "HOTLINE_CLAIM_BATCH": String(batch), "HOTLINE_CONCURRENCY": String(max(batch, 8)),
                "HOTLINE_DB_POOL_SIZE": "8",
            ])
        }
        defer { for worker in workers { worker.signal(SIGKILL) } }
        try await waitForWorkers(workers)
        try await client.execute("""
            INSERT INTO queue.jobs (queue, kind) SELECT \(queueName), 'bench.noop' FROM generate_series(1, \(jobs))
            """, logger: logger)
        let committed = Date()
        let deadline = ContinuousClock.now + .seconds(600)
        while try await client.first("SELECT count(*)::int FROM queue.finished_jobs WHERE queue = \(queueName)", as: Int.self, logger: logger) ?? 0 < jobs {
            guard ContinuousClock.now < deadline else { throw BenchError("drain of \(queueName) did not finish in 10 minutes") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let last = try await client.first("SELECT max(finished_at) FROM queue.finished_jobs WHERE queue = \(queueName)", as: Date.self, logger: logger) ?? Date()
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers { _ = await worker.wait(timeout: .seconds(30)) }
        try await client.execute("DELETE FROM queue.finished_jobs WHERE queue = \(queueName)", logger: logger)
        try await client.execute("VACUUM (ANALYZE) queue.jobs", logger: logger)
        return Double(jobs) / last.timeIntervalSince(committed)
    }

    // MARK: wake-up latency

    func latency(into report: inout Report) async throws {
        let queueName = "latency"
        let seconds = quick ? 4 : 10
        let perSecond = 50
        try await client.execute("CREATE TABLE IF NOT EXISTS probe_runs (job_id bigint, owner text, attempt int, at timestamptz)", logger: logger)
        let worker = try spawnWorker(queue: queueName, environment: ["HOTLINE_POLL_SECONDS": "600", "HOTLINE_CONCURRENCY": "8"])
        defer { worker.signal(SIGKILL) }
        try await waitForWorkers([worker])
        try await Task.sleep(for: .milliseconds(500))
        note("latency: \(perSecond) jobs/s for \(seconds) s on an idle worker (poll 600 s)")
        let queue = JobQueue(client: client, logger: logger)
        let job = try NewJob(queue: queueName, ProbeJob(record: true))
        var committed: [Int64: Date] = [:]
        let start = ContinuousClock.now
        for index in 0..<(seconds * perSecond) {
            let due = start + .milliseconds(index * 1000 / perSecond)
            let wait = due - ContinuousClock.now
            if wait > .zero { try await Task.sleep(for: wait) }
            let result = try await queue.enqueue(job)
            if let id = result.id { committed[id.rawValue] = Date() }
        }
        let expected = committed.count
        let deadline = ContinuousClock.now + .seconds(60)
        while try await client.first("SELECT count(*)::int FROM probe_runs", as: Int.self, logger: logger) ?? 0 < expected {
            guard ContinuousClock.now < deadline else { throw BenchError("latency jobs were not all run") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let runs = try await client.all("SELECT job_id, at FROM probe_runs", as: (Int64, Date).self, logger: logger)
        let latencies = runs.compactMap { run in committed[run.0].map { run.1.timeIntervalSince($0) * 1000 } }.sorted()
        report.add("wake-up", "enqueue commit → handler start, p50 / p99 / max (ms)",
                   "\(Self.ms(Self.percentile(latencies, 0.5))) / \(Self.ms(Self.percentile(latencies, 0.99))) / \(Self.ms(latencies.last ?? 0))",
                   "\(latencies.count) jobs at \(perSecond)/s, one per transaction, idle worker with a 600 s poll")
        worker.signal(SIGTERM)
        _ = await worker.wait(timeout: .seconds(30))
    }

    // MARK: claim time vs backlog

    func claimTime(into report: inout Report) async throws {
        let queue = JobQueue(client: client, logger: logger)
        let owner = "bench-claim"
        let rounds = quick ? 100 : 300
        func measure(_ label: String) async throws -> [Double] {
            var times: [Double] = []
            for _ in 0..<rounds {
                let start = ContinuousClock.now
                let claimed = try await queue.claim(queue: "claimtime", owner: owner, limit: 10, lease: .seconds(30))
                times.append((ContinuousClock.now - start).seconds * 1000)
                _ = try await queue.complete(owner: owner, ids: claimed.map(\.id))
            }
            return times.sorted()
        }
        func load(_ count: Int) async throws {
            var left = count
            while left > 0 {
                let chunk = min(left, 100_000)
                try await client.execute("""
                    INSERT INTO queue.jobs (queue, kind) SELECT 'claimtime', 'bench.noop' FROM generate_series(1, \(chunk))
                    """, logger: logger)
                left -= chunk
            }
            try await client.execute("VACUUM (ANALYZE) queue.jobs", logger: logger)
        }
        note("claim time: empty queue")
        let empty = try await measure("empty")
        note("claim time: 10,000 waiting")
        try await load(10_000)
        let small = try await measure("small")
        let backlog = quick ? 200_000 : 1_000_000
        note("claim time: \(backlog) waiting")
        try await load(backlog - 10_000 + rounds * 10)
        let full = try await measure("backlog")
        func cell(_ times: [Double]) -> String { "\(Self.ms(Self.percentile(times, 0.5))) / \(Self.ms(Self.percentile(times, 0.99)))" }
        func ratio(_ a: [Double], _ b: [Double]) -> String {
            String(format: "%.2f", Self.percentile(a, 0.5) / max(Self.percentile(b, 0.5), 0.001))
        }
        report.add("claim", "claim 10 from an empty queue: p50 / p99 (ms)", cell(empty), "\(rounds) claims, client round trip; finds nothing to update")
        report.add("claim", "claim 10 with 10,000 waiting: p50 / p99 (ms)", cell(small), "same work per claim as below")
        report.add("claim", "claim 10 with \(backlog.formatted()) waiting: p50 / p99 (ms)", cell(full),
                   "median \(ratio(full, empty))× the empty queue's, \(ratio(full, small))× the 10,000 backlog's")
        try await client.execute("TRUNCATE queue.jobs, queue.finished_jobs", logger: logger)
    }

    // MARK: references

    func pgQueuer(server: DatabaseURL, into report: inout Report) async {
        do {
            let venv = root.appendingPathComponent(".local/pgq-venv").path
            note("PgQueuer: preparing its virtualenv")
            _ = try await Self.shell(root.appendingPathComponent("ops/bench/pgqueuer-setup").path, [venv])
            try await Self.admin(server, "DROP DATABASE IF EXISTS pgq WITH (FORCE)")
            try await Self.admin(server, "CREATE DATABASE pgq")
            let dsn = "postgres://postgres@127.0.0.1:\(server.port)/pgq"
            let script = root.appendingPathComponent("ops/bench/pgqueuer_bench.py").path
            let jobs = quick ? 5_000 : 20_000
            note("PgQueuer: drain of \(jobs) jobs")
            let drain = try Self.lastJSON(try await Self.shell("\(venv)/bin/python", [script, "--dsn", dsn, "--mode", "drain", "--jobs", String(jobs)]))
            let rate = drain["drain_jobs_per_s"] as? Double ?? 0
            report.pgQueuerDrain = rate
            let version = drain["pgqueuer_version"] as? String ?? "?"
            report.add("PgQueuer \(version)", "no-op jobs/s drained, 1 process, its default batch", Self.rate(rate),
                       "\(jobs) jobs, batch \(drain["batch_size"].map { "\($0)" } ?? "default")")
            note("PgQueuer: latency at 50 jobs/s")
            let latency = try Self.lastJSON(try await Self.shell("\(venv)/bin/python", [script, "--dsn", dsn, "--mode", "latency", "--rate", "50", "--seconds", quick ? "4" : "10"]))
            report.add("PgQueuer \(version)", "enqueue commit → handler start, p50 / p99 / max (ms)",
                       "\(Self.ms(latency["p50_ms"] as? Double ?? 0)) / \(Self.ms(latency["p99_ms"] as? Double ?? 0)) / \(Self.ms(latency["max_ms"] as? Double ?? 0))",
                       "\(latency["count"] ?? 0) jobs at 50/s")
        } catch {
            report.add("PgQueuer", "not measured", "-", "\(error)".replacingOccurrences(of: "\n", with: " ").prefix(200).description)
        }
    }

    func rawLimit(server: DatabaseURL, into report: inout Report) async {
        do {
            try await Self.admin(server, "DROP DATABASE IF EXISTS rawbench WITH (FORCE)")
            try await Self.admin(server, "CREATE DATABASE rawbench")
            let raw = server.with(database: "rawbench")
            let rows = quick ? 300_000 : 1_500_000
            for statement in [
                "CREATE TABLE raw_jobs (id bigserial PRIMARY KEY, status text NOT NULL DEFAULT 'available', owner int, payload jsonb NOT NULL DEFAULT '{}')",
                "CREATE INDEX raw_jobs_available ON raw_jobs (id) WHERE status = 'available'",
                "CREATE INDEX raw_jobs_running ON raw_jobs (owner) WHERE status = 'running'",
                "INSERT INTO raw_jobs (status) SELECT 'available' FROM generate_series(1, \(rows))",
                "VACUUM ANALYZE raw_jobs",
            ] { try await Self.admin(raw, statement) }
            let script = FileManager.default.temporaryDirectory.appendingPathComponent("raw-cycle.sql")
            try """
                UPDATE raw_jobs SET status = 'running', owner = :client_id WHERE id IN (SELECT id FROM raw_jobs WHERE status = 'available' ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED);
                DELETE FROM raw_jobs WHERE status = 'running' AND owner = :client_id;
                """.write(to: script, atomically: true, encoding: .utf8)
            let pgbench = ["/usr/lib/postgresql/15/bin/pgbench", "/usr/bin/pgbench"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "pgbench"
            let seconds = quick ? 5 : 10
            note("raw limit: pgbench claim+complete, batch 100, 4 clients, \(seconds) s")
            let start = Date()
            _ = try await Self.shell(pgbench, ["-n", "-c", "4", "-j", "2", "-T", String(seconds), "-f", script.path,
                                               "-h", "127.0.0.1", "-p", String(server.port), "-U", "postgres", "rawbench"])
            let elapsed = Date().timeIntervalSince(start)
            let left = try await Self.adminCount(raw, "SELECT count(*)::int FROM raw_jobs")
            let rate = Double(rows - left) / elapsed
            report.rawLimit = rate
            report.add("raw SQL limit", "jobs/s, pgbench claim 100 + delete, 4 clients", Self.rate(rate), "two commits per 100 jobs, no queue engine around it")
        } catch {
            report.add("raw SQL limit", "not measured", "-", "\(error)".replacingOccurrences(of: "\n", with: " ").prefix(200).description)
        }
    }

    // MARK: helpers

    private func spawnWorker(queue: String, environment extra: [String: String]) throws -> ChildProcess {
        try spawn(arguments: ["worker", "--queue", queue], log: "bench-\(queue).log", environment: extra)
    }

    /// Starts this binary (or a sibling executable of the same build, e.g. `intake-extraction`)
    /// against the benchmark database, its output in .local/<log>.
    func spawn(sibling: String? = nil, arguments: [String], log: String, environment extra: [String: String]) throws -> ChildProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = url.urlString
        environment["HOTLINE_HTTP_PORT"] = "off"
        environment["HOTLINE_LOG_LEVEL"] = "error"
        for (key, value) in extra { environment[key] = value }
        let own = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let exe = sibling.map { own.deletingLastPathComponent().appendingPathComponent($0).path } ?? own.path
        let logs = root.appendingPathComponent(".local")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        return try ChildProcess(executable: exe, arguments: arguments, environment: environment,
                                outputPath: logs.appendingPathComponent(log).path)
    }

    private func waitForWorkers(_ workers: [ChildProcess]) async throws {
        let named = workers.map { ("probe worker \($0.pid)", $0) }
        if let notReady = await SignIn.wait(for: named, client: client, logger: logger, timeout: .seconds(60)) {
            throw BenchError(notReady)
        }
        // Let each one LISTEN before work arrives.
        try await Task.sleep(for: .milliseconds(300))
    }

    static func repositoryRoot() throws -> URL {
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        var dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 { candidates.append(dir); dir = dir.deletingLastPathComponent() }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("ops/pg-cluster").path) {
            return candidate
        }
        throw BenchError("run from the repository (ops/pg-cluster not found)")
    }

    static func shell(_ executable: String, _ arguments: [String]) async throws -> String {
        try await ChildProcess.output(executable, arguments)
    }

    static func admin(_ url: DatabaseURL, _ sql: String) async throws {
        _ = try await adminCount(url, sql)
    }

    @discardableResult
    static func adminCount(_ url: DatabaseURL, _ sql: String) async throws -> Int {
        var logger = Logger(label: "bench-admin")
        logger.logLevel = .error
        let connection = try await PostgresConnection.connect(configuration: url.connectionConfiguration(), id: 0, logger: logger)
        do {
            let rows = try await connection.rows(PostgresQuery(unsafeSQL: sql), logger: logger)
            try? await connection.close()
            return (try? rows.first?.decode(Int.self)) ?? 0
        } catch {
            try? await connection.close()
            throw error
        }
    }

    static func lastJSON(_ output: String) throws -> [String: Any] {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw BenchError("no JSON result in: \(output.suffix(400))")
        }
        return object
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    static func rate(_ value: Double) -> String { String(format: "%.0f", value) }
    static func ms(_ value: Double) -> String { String(format: "%.1f", value) }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
