import Foundation
import Logging
import PostgresNIO
import Shared

/// The dispatch section: the real fleet's two first stages (intake-extraction and auto-dispatch
/// processes) end to end. Latency from a channel's submit commit to the ticket's dispatch
/// (or its place in the dispatcher queue) at a steady 50 and 200 tickets/s, one ticket per
/// transaction; then the sustained rate through both stages on a backlog.
extension Bench {
    func dispatch(into report: inout Report) async throws {
        try await prepareTexts()
        let texts = try await client.first("SELECT count(*)::int FROM bench_texts", as: Int.self, logger: logger) ?? 0
        let seconds = quick ? 4 : 30
        // Nothing is measured on a fresh database: a city's has history, and on an empty one the
        // planner works from empty tables' statistics and every table crosses its autovacuum and
        // autoanalyze thresholds in the first minute (a 200/s run that met that first round, 16
        // tables vacuumed and analysed within a second and every backend's plans invalidated, had
        // its p99 doubled). So a backlog goes through first, unmeasured, then what autovacuum would
        // do by itself; the latency runs come after the sustained runs and another such pass.
        let backlog = quick ? 2_000 : 10_000
        try await withFleet(processes: 1, run: "history", phoneBase: 300) { _ in
            try await client.execute("""
                SELECT count(*) FROM generate_series(0, \(backlog / 2 - 1)) g JOIN bench_texts t ON t.i = g % \(texts),
                       LATERAL hotline.submit_ticket('web', 'history-' || g, t.text, '139' || lpad(g::text, 8, '0')) s
                """, logger: logger)
            try await waitPlaced(prefix: "history-", count: backlog / 2)
        }
        try await client.execute("VACUUM ANALYZE", logger: logger)
        var sustained: [(String, String, String)] = []
        for processes in [1, 2] {
            try await withFleet(processes: processes, run: "sus\(processes)", phoneBase: processes * 100) { _ in
                let start = ContinuousClock.now
                try await client.execute("""
                    SELECT count(*) FROM generate_series(0, \(backlog - 1)) g JOIN bench_texts t ON t.i = g % \(texts),
                           LATERAL hotline.submit_ticket('web', \("sus\(processes)-") || g, t.text, '137' || lpad((g + \(processes * 1_000_000))::text, 8, '0')) s
                    """, logger: logger)
                try await waitPlaced(prefix: "sus\(processes)-", count: backlog)
                let rate = Double(backlog) / (ContinuousClock.now - start).seconds
                sustained.append(("sustained tickets/s through intake-extraction and auto-dispatch, \(processes) + \(processes) process\(processes > 1 ? "es" : "")",
                                  Self.rate(rate), "\(backlog.formatted()) tickets submitted in one statement until the last is dispatched or queued; target ≥ 500"))
            }
        }
        try await client.execute("VACUUM ANALYZE", logger: logger)
        for rate in dispatchRates {
            try await withFleet(processes: 1, run: "lat\(rate)", phoneBase: rate * 1000) { workers in
                // Five seconds at the phase's rate first, so each pool (the workers' and the
                // submitters') has opened the connections the rate needs and compiled its
                // functions there: a worker starts once and then runs for days, and that start-up
                // is not what this measures. With one second the benchmark's own pool opened its
                // connections at the end of it, their first calls fell into the measured window,
                // and the first 5-second slice's p99 was 2-4 times the others'.
                _ = try await steady(rate: rate, seconds: 5, run: "warm\(rate)", texts: texts)
                let before = try await cpuTicks(of: workers)
                let background = try await backgroundWork()
                let (measured, span) = try await steady(rate: rate, seconds: seconds, run: "lat\(rate)", texts: texts)
                let spent = try await cpuTicks(of: workers).subtracting(before)
                let after = try await backgroundWork()
                let latencies = measured.fromCommit
                func p50p99(_ values: [Double]) -> String {
                    "\(Self.ms(Self.percentile(values, 0.5))) / \(Self.ms(Self.percentile(values, 0.99)))"
                }
                func summary(_ values: [Double]) -> String { "\(p50p99(values)) / \(Self.ms(values.last ?? 0))" }
                report.add("dispatch", "submit commit → dispatched commit, p50 / p99 / max (ms), \(rate) tickets/s", summary(latencies),
                           "\(latencies.count) tickets submitted over \(String(format: "%.1f", span)) s, one per transaction, each at its own time (open loop); the server's commit timestamps of the two transactions; 1 + 1 worker processes; target p99 < 100 ms at 200/s")
                report.add("dispatch", "submit call → dispatch event, p50 / p99 / max (ms), \(rate) tickets/s", summary(measured.fromCall),
                           "the same tickets seen from the channel: from before its submit call (so its own statement and commit count) to the dispatch event's clock time")
                report.add("dispatch", "stages at \(rate)/s, p50 / p99 (ms): submit commit → extracted commit, extracted → dispatched commit",
                           "\(p50p99(measured.extraction)), \(p50p99(measured.dispatch))",
                           "where the time goes: the first is the NOTIFY, the extraction group and its commit; the second its wake-up and the dispatch group up to its commit")
                let slice = quick ? 1 : 5
                report.add("dispatch", "submit commit → dispatched commit, p99 by \(slice)-second slice (ms), \(rate) tickets/s",
                           measured.p99BySlice(seconds: slice).map { Self.ms($0) }.joined(separator: ", "),
                           "in the order the tickets were submitted; meanwhile \(after.checkpoints - background.checkpoints) checkpoint(s), \(after.vacuums - background.vacuums) autovacuum and \(after.analyzes - background.analyzes) autoanalyze run(s) of a table")
                let cores = ProcessInfo.processInfo.activeProcessorCount
                let perTicket = { (name: String) in String(format: "%.2f", (spent[name] ?? 0) * 10 / Double(max(1, latencies.count))) }
                report.add("dispatch", "CPU per ticket at \(rate)/s (ms): intake-extraction / auto-dispatch processes; their PostgreSQL backends; the benchmark's backends (submits, polling) / its own process",
                           "\(perTicket("intake-extraction")) / \(perTicket("auto-dispatch")); \(perTicket("pg intake-extraction")) / \(perTicket("pg auto-dispatch")); \(perTicket("pg bench")) / \(perTicket("this process"))",
                           "user + system time from /proc over the run and its drain; \(cores) cores have \(String(format: "%.1f", Double(cores) * 1000 / Double(rate))) ms per ticket at \(rate)/s; the machine was \(Int(((spent["machine busy"] ?? 0) / max(1, spent["machine"] ?? 0) * 100).rounded())) % busy meanwhile")
            }
        }
        for (measure, value, notes) in sustained { report.add("dispatch", measure, value, notes) }
        try await databaseCPU(into: &report)
    }

    /// CPU time so far (clock ticks of 10 ms) of the fleet's worker processes, by executable, and
    /// of the database's client backends, by application (`pg intake-extraction`, `pg auto-dispatch`,
    /// `pg bench`): what a ticket costs each side, which the latency alone cannot tell apart.
    private func cpuTicks(of workers: [ChildProcess]) async throws -> CPUTicks {
        var ticks = CPUTicks()
        for worker in workers {
            let stat = (try? String(contentsOfFile: "/proc/\(worker.pid)/stat", encoding: .utf8)) ?? ""
            ticks.add(URL(fileURLWithPath: worker.executable).lastPathComponent, Self.cpuTicks(stat: stat) ?? 0)
        }
        let backends = try await client.all("""
            SELECT coalesce(nullif(split_part(a.application_name, '@', 1), ''), 'other'), pg_read_file('/proc/' || a.pid || '/stat')
              FROM pg_stat_activity a WHERE a.backend_type = 'client backend'
            """, as: (String, String).self, logger: logger)
        for (application, stat) in backends { ticks.add("pg " + application, Self.cpuTicks(stat: stat) ?? 0) }
        // The load generator shares the 2 cores, and the machine's busy and total ticks show
        // whether the window ran saturated (then the tail follows whatever else runs).
        ticks.add("this process", Self.cpuTicks(stat: (try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8)) ?? "") ?? 0)
        let machine = ((try? String(contentsOfFile: "/proc/stat", encoding: .utf8)) ?? "").split(separator: "\n").first?
            .split(separator: " ").dropFirst().compactMap { Double($0) } ?? []
        if machine.count >= 8 {
            // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
            ticks.add("machine", machine[0..<8].reduce(0, +))
            ticks.add("machine busy", machine[0..<8].reduce(0, +) - machine[3] - machine[4])
        }
        return ticks
    }

    /// User + system clock ticks from a /proc/PID/stat line (fields 14 and 15, after the command in brackets).
    static func cpuTicks(stat: String) -> Double? {
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return user + system
    }

    struct CPUTicks {
        private var byName: [String: Double] = [:]
        mutating func add(_ name: String, _ ticks: Double) { byName[name, default: 0] += ticks }
        subscript(name: String) -> Double? { byName[name] }
        func subtracting(_ earlier: CPUTicks) -> CPUTicks {
            var result = self
            for (name, ticks) in earlier.byName { result.byName[name, default: 0] -= ticks }
            return result
        }
    }

    /// The database's own CPU per ticket for each stage of the SQL contract, on one backend
    /// (user + system time from its /proc entry, read through pg_read_file): `submit_ticket`,
    /// `record_extraction` and `record_dispatch` for copies of tickets the fleet dispatched, with
    /// the workers' decisions replayed. CPU time, unlike the rates above, hardly moves when a
    /// neighbour loads the disk, so it shows what a change to the SQL costs or saves.
    func databaseCPU(into report: inout Report) async throws {
        let count = quick ? 1_000 : 3_000
        let logger = self.logger
        // One transaction (rolled back if a stage fails), so the functions' own counters
        // (pg_stat_xact_user_functions) cover exactly the replay.
        let micros: (stages: [(String, Double)], functions: [(String, Int, Double)]) = try await client.transaction(logger: logger) { connection in
            func cpuMilliseconds() async throws -> Double {
                let stat = try await connection.first("SELECT pg_read_file('/proc/self/stat')", as: String.self, logger: logger) ?? ""
                guard let ticks = Self.cpuTicks(stat: stat) else {
                    throw BenchError("cannot read the backend's CPU time from /proc/self/stat")
                }
                return ticks * 10
            }
            try await connection.execute("DROP TABLE IF EXISTS bench_cpu_src, bench_cpu_new", logger: logger)
            try await connection.execute("""
                CREATE TABLE bench_cpu_src AS
                SELECT row_number() OVER (ORDER BY t.id) AS i, t.content, t.district_id, t.street_id, t.community_id, c.label AS category,
                       t.urgency_class, t.is_enterprise, t.is_sensitive, t.extraction,
                       (SELECT e.details - 'round' - 'accept_due_at' - 'feedback_due_at' FROM hotline.ticket_events e
                         WHERE e.ticket_id = t.id AND e.event = 'dispatched' ORDER BY e.seq LIMIT 1) AS plan
                  FROM hotline.tickets t LEFT JOIN hotline.categories c ON c.id = t.category_id
                 WHERE t.status = 'dispatched' AND t.dispatch_round = 1
                 ORDER BY t.id LIMIT \(count)
                """, logger: logger)
            let stages = [
                ("submit_ticket", """
                    CREATE TABLE bench_cpu_new AS SELECT s.i, r.ticket_id FROM bench_cpu_src s,
                        LATERAL hotline.submit_ticket('web', 'cpu-' || s.i, s.content, '138' || lpad(s.i::text, 8, '0')) r
                    """),
                ("record_extraction", """
                    SELECT count(*) FROM bench_cpu_new n JOIN bench_cpu_src s USING (i),
                        LATERAL hotline.record_extraction(n.ticket_id, s.district_id, s.street_id, s.community_id, s.category,
                                                          s.urgency_class, s.is_enterprise, s.is_sensitive, NULL, NULL, NULL, s.extraction) r
                    """),
                ("record_dispatch", """
                    SELECT count(hotline.record_dispatch(n.ticket_id, 'process', 'auto-dispatch', s.plan))
                      FROM bench_cpu_new n JOIN bench_cpu_src s USING (i) JOIN hotline.tickets t ON t.id = n.ticket_id
                     WHERE t.status = 'extracted'
                    """),
            ]
            try await connection.execute("SET LOCAL track_functions = 'all'", logger: logger)
            var result: [(String, Double)] = []
            for (name, sql) in stages {
                let before = try await cpuMilliseconds()
                try await connection.execute(PostgresQuery(unsafeSQL: sql), logger: logger)
                result.append((name, (try await cpuMilliseconds() - before) * 1000 / Double(count)))
            }
            let functions = try await connection.all("""
                SELECT schemaname || '.' || funcname, calls, self_time FROM pg_stat_xact_user_functions
                 ORDER BY self_time DESC LIMIT 10
                """, as: (String, Int, Double).self, logger: logger)
            return (result, functions)
        }
        report.add("dispatch", "database CPU per ticket (µs): " + micros.stages.map(\.0).joined(separator: " / "),
                   micros.stages.map { String(format: "%.0f", $0.1) }.joined(separator: " / "),
                   "\(count.formatted()) copies of dispatched tickets, the workers' decisions replayed in SQL on one backend; clock ticks of 10 ms")
        // Where that time goes: each function's own time, without the functions it calls (a
        // statement's foreign-key and CHECK work counts to the function that ran it).
        report.add("dispatch", "the same replay by function: own time per ticket (µs), calls per ticket in brackets",
                   micros.functions.map { name, calls, selfTime in
                       "\(name) \(String(format: "%.0f", selfTime * 1000 / Double(count))) (\(String(format: "%.1f", Double(calls) / Double(count))))"
                   }.joined(separator: ", "),
                   "`pg_stat_xact_user_functions` with `track_functions = all` in the replay's one transaction; wall time on one backend, close to its CPU time when the machine is otherwise idle")
    }

    /// The corpus as training data and as the texts tickets are made of.
    func prepareTexts() async throws {
        let rows = try LabelledCorpus.read(path: root.appendingPathComponent("data/complaints-corpus.tsv").path)
        _ = try await LabelledCorpus.store(rows, on: client, logger: logger)
        // A plain table: the pool's connections must all see it.
        try await client.execute("CREATE TABLE IF NOT EXISTS bench_texts (i int PRIMARY KEY, text text NOT NULL)", logger: logger)
        // Tickets are made of the original rows only: training additions are written for the
        // classifier's hard cases, so adding them would change the workload between runs.
        let originals = rows.filter(\.isOriginal)
        if try await client.first("SELECT count(*)::int FROM bench_texts", as: Int.self, logger: logger) == originals.count { return }
        for (index, row) in originals.enumerated() {
            try await client.execute("INSERT INTO bench_texts VALUES (\(index), \(row.text)) ON CONFLICT DO NOTHING", logger: logger)
        }
    }

    /// Runs `body` with `processes` intake-extraction and as many auto-dispatch processes, warmed up.
    private func withFleet(processes: Int, run: String, phoneBase: Int, _ body: ([ChildProcess]) async throws -> Void) async throws {
        note("dispatch: \(run) with \(processes) + \(processes) worker processes")
        let environment: [String: String] = [:]   // the workers' own defaults: what ops run
        var workers: [ChildProcess] = []
        defer { for worker in workers { worker.signal(SIGKILL) } }
        for index in 0..<processes {
            workers.append(try spawn(sibling: "intake-extraction", arguments: [], log: "bench-dispatch-\(run)-intake-\(index).log", environment: environment))
            workers.append(try spawn(sibling: "auto-dispatch", arguments: [], log: "bench-dispatch-\(run)-dispatch-\(index).log", environment: environment))
        }
        try await client.execute("""
            SELECT count(*) FROM generate_series(0, 15) g JOIN bench_texts t ON t.i = g,
                   LATERAL hotline.submit_ticket('web', \("warm-\(run)-") || g, t.text, '136' || lpad((g + \(phoneBase))::text, 8, '0')) s
            """, logger: logger)
        try await waitPlaced(prefix: "warm-\(run)-", count: 16)
        try await body(workers)
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers { _ = await worker.wait(timeout: .seconds(30)) }
    }

    /// A latency run's measures (ms, sorted after `sort`).
    struct Latencies {
        /// Submit commit → dispatched (or queued, or merged) commit: the target's definition.
        var fromCommit: [Double] = []
        /// Submit call → the dispatch event's time: what a channel waiting on the call sees.
        var fromCall: [Double] = []
        /// The two stages, commit to commit: submit → extracted, extracted → dispatched.
        var extraction: [Double] = []
        var dispatch: [Double] = []
        /// Submit commit → dispatched commit by the second (from the first submit's commit) the
        /// submit committed in: whether the tail is spread over the run or comes in bursts.
        var bySecond: [Int: [Double]] = [:]
        mutating func sort() { fromCommit.sort(); fromCall.sort(); extraction.sort(); dispatch.sort() }

        /// p99 of each `slice`-second part of the run, in order.
        func p99BySlice(seconds slice: Int) -> [Double] {
            let last = bySecond.keys.max() ?? -1
            return stride(from: 0, through: last, by: slice).map { start in
                Bench.percentile((start..<(start + slice)).flatMap { bySecond[$0] ?? [] }.sorted(), 0.99)
            }
        }
    }

    /// What the database did in the background (checkpoints, autovacuum and autoanalyze runs), to
    /// set beside a latency window: on 2 cores either can put a burst into the tail.
    private func backgroundWork() async throws -> (checkpoints: Int, vacuums: Int, analyzes: Int) {
        let row = try await client.first("""
            SELECT (SELECT (checkpoints_timed + checkpoints_req)::int FROM pg_stat_bgwriter),
                   (SELECT coalesce(sum(autovacuum_count), 0)::int FROM pg_stat_all_tables),
                   (SELECT coalesce(sum(autoanalyze_count), 0)::int FROM pg_stat_all_tables)
            """, as: (Int, Int, Int).self, logger: logger)
        return (row?.0 ?? 0, row?.1 ?? 0, row?.2 ?? 0)
    }

    /// One ticket per transaction at `rate`/s; latency from each submit's commit to its
    /// dispatch's commit (the servers' commit timestamps), from the submit call to the dispatch
    /// event, and the two stages' shares (the extraction's commit splits them).
    /// Open loop, as independent channels are: each ticket is submitted at its own time, whether
    /// or not earlier submits have returned (one sequential caller fell behind 200/s whenever a
    /// commit took over 5 ms, then caught up in bursts, so the offered rate was neither steady
    /// nor 200/s). Returns the latencies and the seconds the submits took.
    private func steady(rate: Int, seconds: Int, run: String, texts: Int) async throws -> (Latencies, Double) {
        let start = ContinuousClock.now
        let client = self.client
        let logger = self.logger
        let committed = try await withThrowingTaskGroup(of: (Int64?, Date).self) { group in
            for index in 0..<(rate * seconds) {
                let due = start + .microseconds(index * 1_000_000 / rate)
                let wait = due - ContinuousClock.now
                if wait > .zero { try await Task.sleep(for: wait) }
                group.addTask {
                    let sent = Date()   // before the call: the latency includes submitting
                    let id = try await client.first("""
                        SELECT ticket_id FROM hotline.submit_ticket('web', \(run + "-" + String(index)),
                            (SELECT text FROM bench_texts WHERE i = \(index % texts)), \("135" + String(format: "%08d", index + rate * 100_000)))
                        """, as: Int64.self, logger: logger)
                    return (id, sent)
                }
            }
            var committed: [Int64: Date] = [:]
            for try await (id, sent) in group { if let id { committed[id] = sent } }
            return committed
        }
        let span = (ContinuousClock.now - start).seconds
        try await waitPlaced(prefix: run + "-", count: committed.count)
        // Each event row is written by the transaction of its step and never updated, so its
        // xmin's commit timestamp is that step's commit.
        let placed = try await client.all("""
            SELECT e.ticket_id, min(e.at) FILTER (WHERE e.event IN ('dispatched', 'awaiting_dispatcher', 'merged')),
                   (array_agg(pg_xact_commit_timestamp(e.xmin) ORDER BY e.seq) FILTER (WHERE e.event = 'received'))[1],
                   (array_agg(pg_xact_commit_timestamp(e.xmin) ORDER BY e.seq) FILTER (WHERE e.event = 'extracted'))[1],
                   (array_agg(pg_xact_commit_timestamp(e.xmin) ORDER BY e.seq) FILTER (WHERE e.event IN ('dispatched', 'awaiting_dispatcher', 'merged')))[1]
              FROM hotline.ticket_events e JOIN hotline.tickets t ON t.id = e.ticket_id
             WHERE t.external_id LIKE \(run + "-%") AND e.event IN ('received', 'dispatched', 'awaiting_dispatcher', 'merged', 'extracted')
             GROUP BY e.ticket_id
            HAVING min(e.at) FILTER (WHERE e.event IN ('dispatched', 'awaiting_dispatcher', 'merged')) IS NOT NULL
            """, as: (Int64, Date, Date?, Date?, Date?).self, logger: logger)
        var latencies = Latencies()
        let firstCommit = placed.compactMap(\.2).min()
        for (ticket, placedAt, submitCommit, extractedCommit, placedCommit) in placed {
            guard let sent = committed[ticket] else { continue }
            guard let submitCommit, let placedCommit else {
                throw BenchError("no commit timestamp for ticket \(ticket): is track_commit_timestamp on?")
            }
            let latency = max(0, placedCommit.timeIntervalSince(submitCommit) * 1000)
            latencies.fromCommit.append(latency)
            if let firstCommit { latencies.bySecond[Int(submitCommit.timeIntervalSince(firstCommit)), default: []].append(latency) }
            latencies.fromCall.append(max(0, placedAt.timeIntervalSince(sent) * 1000))
            if let extractedCommit {
                latencies.extraction.append(max(0, extractedCommit.timeIntervalSince(submitCommit) * 1000))
                latencies.dispatch.append(max(0, placedCommit.timeIntervalSince(extractedCommit) * 1000))
            }
        }
        latencies.sort()
        return (latencies, span)
    }

    /// Waits until `count` tickets whose external id starts with `prefix` are dispatched, queued
    /// for a dispatcher or linked as repeats. Polls every 100 ms over the run's id range only, so
    /// watching costs the measured system little.
    private func waitPlaced(prefix: String, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(900)
        let first = try await client.first(
            "SELECT min(id) FROM hotline.tickets WHERE channel = 'web' AND external_id LIKE \(prefix + "%")", as: Int64?.self, logger: logger)
        let low = (first ?? nil) ?? 0
        while try await client.first("""
            SELECT count(*)::int FROM hotline.tickets t
             WHERE t.id >= \(low) AND t.channel = 'web' AND t.external_id LIKE \(prefix + "%")
               AND (t.status IN ('dispatched', 'merged') OR EXISTS (SELECT 1 FROM hotline.dispatcher_queue q WHERE q.ticket_id = t.id))
            """, as: Int.self, logger: logger) ?? 0 < count {
            guard ContinuousClock.now < deadline else { throw BenchError("\(prefix): tickets were not all placed in 15 minutes") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
