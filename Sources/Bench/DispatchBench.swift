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
        let seconds = quick ? 4 : 10
        for rate in [50, 200] {
            try await withFleet(processes: 1, run: "lat\(rate)", phoneBase: rate * 1000) {
                let latencies = try await steady(rate: rate, seconds: seconds, run: "lat\(rate)", texts: texts)
                report.add("dispatch", "submit → dispatched, p50 / p99 / max (ms), \(rate) tickets/s",
                           "\(Self.ms(Self.percentile(latencies, 0.5))) / \(Self.ms(Self.percentile(latencies, 0.99))) / \(Self.ms(latencies.last ?? 0))",
                           "\(latencies.count) tickets, one per transaction, from the submit call to the dispatch event; 1 + 1 worker processes; target p99 < 100 ms at 200/s")
            }
        }
        let backlog = quick ? 2_000 : 10_000
        for processes in [1, 2] {
            try await withFleet(processes: processes, run: "sus\(processes)", phoneBase: processes * 100) {
                let start = ContinuousClock.now
                try await client.execute("""
                    SELECT count(*) FROM generate_series(0, \(backlog - 1)) g JOIN bench_texts t ON t.i = g % \(texts),
                           LATERAL hotline.submit_ticket('web', \("sus\(processes)-") || g, t.text, '137' || lpad((g + \(processes * 1_000_000))::text, 8, '0')) s
                    """, logger: logger)
                try await waitPlaced(prefix: "sus\(processes)-", count: backlog)
                let rate = Double(backlog) / (ContinuousClock.now - start).seconds
                report.add("dispatch", "sustained tickets/s through intake-extraction and auto-dispatch, \(processes) + \(processes) process\(processes > 1 ? "es" : "")",
                           Self.rate(rate), "\(backlog.formatted()) tickets submitted in one statement until the last is dispatched or queued; target ≥ 500")
            }
        }
    }

    /// The corpus as training data and as the texts tickets are made of.
    func prepareTexts() async throws {
        let rows = try LabelledCorpus.read(path: root.appendingPathComponent("data/complaints-corpus.tsv").path)
        _ = try await LabelledCorpus.store(rows, on: client, logger: logger)
        // A plain table: the pool's connections must all see it.
        try await client.execute("CREATE TABLE IF NOT EXISTS bench_texts (i int PRIMARY KEY, text text NOT NULL)", logger: logger)
        if try await client.first("SELECT count(*)::int FROM bench_texts", as: Int.self, logger: logger) == rows.count { return }
        for (index, row) in rows.enumerated() {
            try await client.execute("INSERT INTO bench_texts VALUES (\(index), \(row.text)) ON CONFLICT DO NOTHING", logger: logger)
        }
    }

    /// Runs `body` with `processes` intake-extraction and as many auto-dispatch processes, warmed up.
    private func withFleet(processes: Int, run: String, phoneBase: Int, _ body: () async throws -> Void) async throws {
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
        try await body()
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers { _ = await worker.wait(timeout: .seconds(30)) }
    }

    /// One ticket per transaction at `rate`/s; latency from each commit to its dispatch event.
    private func steady(rate: Int, seconds: Int, run: String, texts: Int) async throws -> [Double] {
        var committed: [Int64: Date] = [:]
        let start = ContinuousClock.now
        for index in 0..<(rate * seconds) {
            let due = start + .microseconds(index * 1_000_000 / rate)
            let wait = due - ContinuousClock.now
            if wait > .zero { try await Task.sleep(for: wait) }
            let sent = Date()   // before the call: the latency includes submitting
            let id = try await client.first("""
                SELECT ticket_id FROM hotline.submit_ticket('web', \(run + "-" + String(index)),
                    (SELECT text FROM bench_texts WHERE i = \(index % texts)), \("135" + String(format: "%08d", index + rate * 100_000)))
                """, as: Int64.self, logger: logger)
            if let id { committed[id] = sent }
        }
        try await waitPlaced(prefix: run + "-", count: committed.count)
        let placed = try await client.all("""
            SELECT e.ticket_id, min(e.at) FROM hotline.ticket_events e JOIN hotline.tickets t ON t.id = e.ticket_id
             WHERE t.external_id LIKE \(run + "-%") AND e.event IN ('dispatched', 'awaiting_dispatcher', 'merged')
             GROUP BY e.ticket_id
            """, as: (Int64, Date).self, logger: logger)
        return placed.compactMap { row in committed[row.0].map { max(0, row.1.timeIntervalSince($0) * 1000) } }.sorted()
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
