import Foundation
import GatewaySimulator
import Logging
import PostgresNIO
import Shared

/// The faults, each on its own seeded schedule until the load ends.
extension FaultRun {
    func injectFaults(until end: ContinuousClock.Instant) async {
        var random = SeededRandom(seed: options.seed, stream: 4)
        // Let the fleet warm up first: a fault before the first ticket proves little.
        try? await Task.sleep(for: .seconds(2))
        while ContinuousClock.now < end {
            switch scenario {
            case .killWorkers: await killWorker(random: &random)
            case .postgresRestart: await restartPostgres(random: &random)
            case .terminateBackends: await terminateBackends(random: &random)
            case .timeouts: await holdLocks(random: &random)
            case .gateway: await gatewayFault(random: &random)
            case .burst, .races:
                // The load is the fault; only check the workers stay up.
                try? await Task.sleep(for: .seconds(1))
            }
            do {
                for exited in try fleet.restartStopped() { ledger.violation("worker exited by itself: \(exited)") }
            } catch {
                ledger.violation("cannot restart a worker: \(error)")
            }
        }
    }

    private func killWorker(random: inout SeededRandom) async {
        try? await Task.sleep(for: random.seconds(2...5))
        let index = Int.random(in: 0..<fleet.slots.count, using: &random)
        fleet.kill(index)
        ledger.fault("SIGKILL")
        try? await Task.sleep(for: random.seconds(0.5...3))
        // restartStopped() (the caller) brings it back.
    }

    private func restartPostgres(random: inout SeededRandom) async {
        try? await Task.sleep(for: random.seconds(4...7))
        // Alternate, so even a short run sees both: immediate is a crash (no checkpoint).
        let done = ledger.snapshot.faults
        let mode = done["restart -m fast"] == nil ? "fast" : done["restart -m immediate"] == nil ? "immediate" : (random.chance(0.5) ? "fast" : "immediate")
        do {
            try await cluster.restart(mode: mode)
            ledger.fault("restart -m \(mode)")
            await measureRecovery(since: Date())
        } catch {
            ledger.violation("pg_ctl restart -m \(mode) failed: \(error)")
        }
    }

    private func terminateBackends(random: inout SeededRandom) async {
        try? await Task.sleep(for: random.seconds(1...3))
        do {
            let pids = try await client.all("""
                SELECT pid FROM pg_stat_activity
                 WHERE datname = current_database() AND backend_type = 'client backend'
                   AND pid <> pg_backend_pid() AND application_name NOT LIKE 'fault-suite%'
                 ORDER BY pid
                """, as: Int32.self, logger: logger)
            guard !pids.isEmpty else { return }
            let victims = pids.shuffled(using: &random).prefix(Int.random(in: 1...3, using: &random))
            for pid in victims {
                try await client.execute("SELECT pg_terminate_backend(\(pid))", logger: logger)
            }
            ledger.fault("pg_terminate_backend", victims.count)
        } catch {
            ledger.violation("could not terminate backends: \(DatabaseError(error))")
        }
    }

    /// Holds the row locks of the busiest open tickets for 1.5 s in a session of its own;
    /// workers that need them hit the database's lock or statement timeout mid-transaction and
    /// must roll back and retry. The timeouts alternate between the two kinds.
    private func holdLocks(random: inout SeededRandom) async {
        try? await Task.sleep(for: random.seconds(1.5...3))
        let useStatementTimeout = random.chance(0.5)
        do {
            let (low, off) = useStatementTimeout ? ("statement_timeout = '400ms'", "lock_timeout = 0") : ("lock_timeout = '300ms'", "statement_timeout = 0")
            for setting in [low, off] {
                try await client.execute(PostgresQuery(unsafeSQL: "ALTER DATABASE \(databaseName) SET \(setting)"), logger: logger)
            }
            // Settings apply to new sessions: end the workers' current ones.
            try await client.execute("""
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND backend_type = 'client backend'
                   AND pid <> pg_backend_pid() AND application_name NOT LIKE 'fault-suite%'
                """, logger: logger)
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
                try await connection.query("SET LOCAL lock_timeout = 0", logger: logger)
                try await connection.query("""
                    SELECT id FROM hotline.tickets
                     WHERE id IN (SELECT id FROM hotline.tickets WHERE status NOT IN ('closed', 'merged', 'cancelled') ORDER BY id DESC LIMIT 30)
                       FOR UPDATE SKIP LOCKED
                    """, logger: logger)
                try await connection.query("SELECT pg_sleep(1.5)", logger: logger)
            }
            ledger.fault(useStatementTimeout ? "statement_timeout windows" : "lock_timeout windows")
        } catch {
            // A lost session is no violation here; the next round tries again.
        }
    }

    private func gatewayFault(random: inout SeededRandom) async {
        try? await Task.sleep(for: random.seconds(0.5...1.5))
        // Each misbehaviour in turn (in a seeded order), so even a short run sees them all.
        var order = SeededRandom(seed: options.seed, stream: 5)   // the same order every turn
        let bad: [GatewaySimulator.Behaviour] = [.down, .slow, .rateLimited, .unavailable, .garbled].shuffled(using: &order)
        let done = ledger.snapshot.faults.values.reduce(0, +)
        let behaviour = bad[done % bad.count]
        gateway.behaviour = behaviour
        ledger.fault("gateway \(behaviour.rawValue)")
        try? await Task.sleep(for: random.seconds(2...3))
        gateway.behaviour = .normal
    }

    /// Seconds from `since` (the server accepting connections again) until a worker commits
    /// an event, or a violation when none does within 60 s.
    func measureRecovery(since ready: Date) async {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let at = try? await client.first(
                "SELECT min(at) FROM hotline.ticket_events WHERE actor_kind = 'process' AND at > \(ready)", as: Date?.self, logger: logger),
               let at {
                ledger.update { $0.recoveries.append(max(0, at.timeIntervalSince(ready))) }
                return
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        ledger.violation("no worker committed anything within 60 s of PostgreSQL accepting connections again")
    }
}
