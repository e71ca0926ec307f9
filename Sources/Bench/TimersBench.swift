import Foundation
import Logging
import PostgresNIO
import Shared

/// The timers section: the real sla-timer worker processes with 1,000,000 pending timers (due
/// weeks ahead) and a stream of 1,000 timer points due per second. Firing lag is measured two
/// ways: due time → the firing's event row (written in the firing transaction, just before its
/// commit), and due time → seen committed by a reader polling every 10 ms (an upper bound).
/// Then the idle fleet's query rate: transactions per second per process while nothing is due.
extension Bench {
    func timers(into report: inout Report) async throws {
        let pending = quick ? 100_000 : 1_000_000
        let rate = 1_000
        let seconds = quick ? 10 : 30
        let due = rate * seconds
        let tickets = 2_000

        note("timers: \(pending.formatted()) pending timers, then \(due.formatted()) due at \(rate)/s")
        let start = ContinuousClock.now
        try await client.execute("""
            SELECT count(*) FROM generate_series(0, \(tickets - 1)) g,
                   LATERAL hotline.submit_ticket('web', 'timers-' || g, '小区门口路灯不亮，晚上出行不便，请尽快维修。', NULL) s
            """, logger: logger)
        // Assignments to hang the timers on (two timer kinds each), rounds spread over the tickets.
        let assignments = pending / 2 + 2 * due   // a fresh due stream for each run
        try await client.execute("""
            INSERT INTO hotline.assignments (ticket_id, round, unit_id, role, status)
            SELECT t.ids[g % \(tickets) + 1], g / \(tickets) + 1, (SELECT id FROM hotline.handling_units WHERE code = 'XA-CGJ'), 'lead', 'pending'
              FROM generate_series(0, \(assignments - 1)) g,
                   (SELECT array_agg(id ORDER BY id) AS ids FROM hotline.tickets WHERE external_id LIKE 'timers-%') t
            """, logger: logger)
        try await client.execute("""
            INSERT INTO hotline.sla_timers (ticket_id, assignment_id, kind, due_at, started_at, point_ratios, point_actions, next_fire_at)
            SELECT a.ticket_id, a.id, k.kind, now() + interval '30 days' + (a.id % 86400) * interval '1 second', now(),
                   '{0.75,1.0,2.0}', '{warn,urge,escalate}', now() + interval '20 days' + (a.id % 86400) * interval '1 second'
              FROM (SELECT a.* FROM hotline.assignments a JOIN hotline.tickets t ON t.id = a.ticket_id
                     WHERE t.external_id LIKE 'timers-%' ORDER BY a.id LIMIT \(pending / 2)) a
             CROSS JOIN (VALUES ('accept'), ('feedback')) k(kind)
            """, logger: logger)
        try await client.execute("VACUUM ANALYZE hotline.sla_timers", logger: logger)
        try await client.execute("VACUUM ANALYZE hotline.assignments", logger: logger)
        let pendingCount = try await client.first("SELECT count(*)::int FROM hotline.sla_timers WHERE status = 'running'", as: Int.self, logger: logger) ?? 0
        note("timers: \(pendingCount.formatted()) pending in \(String(format: "%.0f", (ContinuousClock.now - start).seconds)) s")

        for processes in [1, 2] {
            try await timerRun(processes: processes, due: due, rate: rate, pending: pendingCount, into: &report)
        }
        try await idleFleet(into: &report)
    }

    private func timerRun(processes: Int, due: Int, rate: Int, pending: Int, into report: inout Report) async throws {
        var workers: [ChildProcess] = []
        defer { for worker in workers { worker.signal(SIGKILL) } }
        for index in 0..<processes {
            workers.append(try spawn(sibling: "sla-timer", arguments: [], log: "bench-timers-\(processes)-\(index).log",
                                     environment: ["HOTLINE_SLA_BATCH": "200"]))
        }
        try await Task.sleep(for: .seconds(3))   // started, listening, and asleep until the far-off timers

        // The due stream, inserted ahead of time like real timers: point i is due at t0 + 3 s + i/rate.
        let firstID = (try await client.first("SELECT coalesce(max(id), 0) + 1 FROM hotline.sla_timers", as: Int64.self, logger: logger)) ?? Int64(1)
        try await client.execute("""
            WITH free AS (
                SELECT a.id, a.ticket_id, row_number() OVER (ORDER BY a.id) - 1 AS i
                  FROM hotline.assignments a JOIN hotline.tickets t ON t.id = a.ticket_id
                 WHERE t.external_id LIKE 'timers-%' AND NOT EXISTS (SELECT 1 FROM hotline.sla_timers s WHERE s.assignment_id = a.id)
                 ORDER BY a.id LIMIT \(due)
            ), t0 AS (SELECT now() + interval '3 seconds' AS at)
            INSERT INTO hotline.sla_timers (ticket_id, assignment_id, kind, due_at, started_at, point_ratios, point_actions, next_fire_at)
            SELECT f.ticket_id, f.id, 'accept', t0.at + f.i * interval '1 millisecond' * (1000.0 / \(rate)) + interval '15 minutes',
                   t0.at + f.i * interval '1 millisecond' * (1000.0 / \(rate)) - interval '45 minutes', '{0.75}', '{warn}',
                   t0.at + f.i * interval '1 millisecond' * (1000.0 / \(rate))
              FROM free f, t0 ORDER BY f.i
            """, logger: logger)
        let lastID = firstID + Int64(due) - 1
        let scheduled = Dictionary(uniqueKeysWithValues: try await client.all("""
            SELECT id, next_fire_at FROM hotline.sla_timers WHERE id BETWEEN \(firstID) AND \(lastID)
            """, as: (Int64, Date).self, logger: logger))
        guard scheduled.count == due else { throw BenchError("timers: inserted \(scheduled.count) of \(due) due timers") }

        // Watch commits: every 10 ms, the stream's timers fired since the lowest unseen one.
        var seen: [Int64: Date] = [:]
        var low = firstID
        let deadline = ContinuousClock.now + .seconds(Double(due / rate) + 120)
        while seen.count < due {
            guard ContinuousClock.now < deadline else { throw BenchError("timers: only \(seen.count) of \(due) fired in time") }
            let fired = try await client.all("""
                SELECT id FROM hotline.sla_timers WHERE id BETWEEN \(low) AND \(lastID) AND next_point > 1
                """, as: Int64.self, logger: logger)
            let now = Date()
            for id in fired where seen[id] == nil { seen[id] = now }
            while low <= lastID && seen[low] != nil { low += 1 }
            try await Task.sleep(for: .milliseconds(10))
        }
        let written = try await client.all("""
            SELECT (e.details->>'timer_id')::bigint, e.at FROM hotline.ticket_events e
             WHERE e.event = 'sla_warning' AND (e.details->>'timer_id')::bigint BETWEEN \(firstID) AND \(lastID)
            """, as: (Int64, Date).self, logger: logger)
        let eventLag = written.compactMap { row in scheduled[row.0].map { max(0, row.1.timeIntervalSince($0) * 1000) } }.sorted()
        let commitLag = seen.compactMap { id, at in scheduled[id].map { max(0, at.timeIntervalSince($0) * 1000) } }.sorted()
        let plural = processes > 1 ? "es" : ""
        report.add("timers", "due → fired event, p50 / p99 / max (ms), \(processes) sla-timer process\(plural)",
                   "\(Self.ms(Self.percentile(eventLag, 0.5))) / \(Self.ms(Self.percentile(eventLag, 0.99))) / \(Self.ms(eventLag.last ?? 0))",
                   "\(eventLag.count.formatted()) warning points due at \(rate)/s with \(pending.formatted()) timers pending; each writes its event and SMS; target p99 < 1 s")
        report.add("timers", "due → fired and committed, p50 / p99 (ms), \(processes) process\(plural)",
                   "\(Self.ms(Self.percentile(commitLag, 0.5))) / \(Self.ms(Self.percentile(commitLag, 0.99)))",
                   "seen by a reader polling every 10 ms: an upper bound by up to ~15 ms")
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers { _ = await worker.wait(timeout: .seconds(30)) }
    }

    /// Transactions per second the idle sla-timer and escalation processes make while nothing is
    /// due: pg_stat_database's count over a window with the processes running, minus the same
    /// window without them, with autovacuum off for both. It runs in a database of its own
    /// holding only pending timers (weeks away) on open tickets: in the shared one, earlier
    /// sections leave real work (escalations of their sensitive tickets) and the bench's own
    /// pooled connections report their earlier transactions late, which once added 15–45
    /// transactions/s to a fleet that, measured alone, made under 1.
    private func idleFleet(into report: inout Report) async throws {
        let window = quick ? 15.0 : 30.0
        let pending = quick ? 100_000 : 1_000_000
        let server = url.with(database: "postgres")
        let idle = url.with(database: "bench_idle")
        try await Bench.admin(server, "DROP DATABASE IF EXISTS bench_idle WITH (FORCE)")
        try await Bench.admin(server, "CREATE DATABASE bench_idle")
        try await Migrator(directory: root.appendingPathComponent("sql"), logger: logger).migrate(url: idle)
        note("timers: idle fleet over \(pending.formatted()) pending timers in a database of its own")
        try await Bench.admin(idle, """
            WITH tickets AS (
                SELECT s.ticket_id FROM generate_series(0, 1999) g,
                       LATERAL hotline.submit_ticket('web', 'idle-' || g, '小区门口路灯不亮，晚上出行不便，请尽快维修。', NULL) s
            ), assigned AS (
                INSERT INTO hotline.assignments (ticket_id, round, unit_id, role, status)
                SELECT t.ids[g % 2000 + 1], g / 2000 + 1, (SELECT id FROM hotline.handling_units WHERE code = 'XA-CGJ'), 'lead', 'pending'
                  FROM generate_series(0, \(pending / 2 - 1)) g, (SELECT array_agg(ticket_id ORDER BY ticket_id) AS ids FROM tickets) t
                RETURNING id, ticket_id
            )
            INSERT INTO hotline.sla_timers (ticket_id, assignment_id, kind, due_at, started_at, point_ratios, point_actions, next_fire_at)
            SELECT a.ticket_id, a.id, k.kind, now() + interval '30 days' + (a.id % 86400) * interval '1 second', now(),
                   '{0.75,1.0,2.0}', '{warn,urge,escalate}', now() + interval '20 days' + (a.id % 86400) * interval '1 second'
              FROM assigned a CROSS JOIN (VALUES ('accept'), ('feedback')) k(kind)
            """)
        // The submissions' extraction jobs are not these workers' business; nothing else is due.
        try await Bench.admin(idle, "DELETE FROM queue.jobs")
        try await Bench.admin(idle, "VACUUM ANALYZE")
        func transactions() async throws -> Int {
            // A fresh connection each time: its own statement is the only one it reports.
            try await Bench.adminCount(idle, """
                SELECT (xact_commit + xact_rollback)::int FROM pg_stat_database WHERE datname = 'bench_idle'
                """)
        }
        func count() async throws -> Int {
            let before = try await transactions()
            try await Task.sleep(for: .seconds(window))
            return try await transactions() - before
        }
        try await Bench.admin(server, "ALTER SYSTEM SET autovacuum = off")
        try await Bench.admin(server, "SELECT pg_reload_conf()")
        let measured: Result<(baseline: Int, fleet: Int), any Error>
        do {
            let baseline = try await count()
            var workers: [ChildProcess] = []
            defer { for worker in workers { worker.signal(SIGKILL) } }
            for name in ["sla-timer", "escalation"] {
                // The sla-timer's hourly retention round (three transactions an hour, ~0.001/s) is
                // left out: its first one comes at a random moment of the first five minutes and
                // would land in this short window or not by chance.
                var environment = ["DATABASE_URL": idle.urlString]
                if name == "sla-timer" { environment["HOTLINE_RETENTION_SECONDS"] = "off" }
                workers.append(try spawn(sibling: name, arguments: [], log: "bench-idle-\(name).log", environment: environment))
            }
            try await Task.sleep(for: .seconds(7))   // past start-up: migrations check, first looks, first scan
            let fleet = try await count()
            for worker in workers { worker.signal(SIGTERM) }
            for worker in workers { _ = await worker.wait(timeout: .seconds(30)) }
            measured = .success((baseline, fleet))
        } catch {
            measured = .failure(error)
        }
        try await Bench.admin(server, "ALTER SYSTEM RESET autovacuum")
        try await Bench.admin(server, "SELECT pg_reload_conf()")
        let (baseline, fleet) = try measured.get()
        let perSecond = Double(fleet - baseline) / window / 2
        report.add("timers", "idle fleet, transactions/s per process", String(format: "%.2f", perSecond),
                   "1 sla-timer + 1 escalation process over \(Int(window)) s on \(pending.formatted()) pending timers weeks away (heartbeats, backstop polls, the idle look), less the same window without them; target ≤ 1")
    }
}
