import Foundation
import GatewaySimulator
public import Logging
import PostgresNIO
import Shared

/// The fault-and-load suite: for each scenario, a fresh database on the suite's own cluster,
/// the whole fleet as real processes, a local SMS provider, channels, units and citizens at
/// work while faults are injected; then the fleet drains and the end state is checked.
public enum FaultSuite {
    /// Runs `scenarios` one after another on `cluster` (which the suite restarts: it must be
    /// the suite's own) and returns one result each.
    public static func run(_ scenarios: [FaultScenario], options: FaultOptions, cluster: LocalCluster, logger: Logger,
                           progress: @Sendable (String) -> Void = { _ in }) async throws -> [FaultResult] {
        var results: [FaultResult] = []
        for scenario in scenarios {
            progress("\(scenario.rawValue): \(scenario.summary), \(options.seconds) s at \(options.rate)/s, seed \(options.seed)")
            let result = try await runOne(scenario, options: options, cluster: cluster, logger: logger)
            progress("\(scenario.rawValue): \(result.submitted) tickets, \(result.faultCount) faults, \(result.checks) checks, \(result.violations.count) violations, drained in \(String(format: "%.1f", result.drainSeconds)) s")
            results.append(result)
        }
        return results
    }

    private static func runOne(_ scenario: FaultScenario, options: FaultOptions, cluster: LocalCluster, logger: Logger) async throws -> FaultResult {
        let databaseName = "faults_" + scenario.rawValue.replacingOccurrences(of: "-", with: "_")
        let server = cluster.url.with(database: "postgres")
        try await Self.admin(server, "DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)", logger: logger)
        try await Self.admin(server, "CREATE DATABASE \(databaseName)", logger: logger)
        let url = cluster.url.with(database: databaseName)
        try await Migrator(directory: options.repositoryRoot.appendingPathComponent("sql"), logger: logger).migrate(url: url)

        let corpus = try LabelledCorpus.read(path: options.repositoryRoot.appendingPathComponent("data/complaints-corpus.tsv").path)
        let logs = options.logDirectory.appendingPathComponent(scenario.rawValue)
        try? FileManager.default.removeItem(at: logs)
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let gateway = try await GatewaySimulator.start(slowReplySeconds: 3)
        do {
            let result = try await PostgresClient.withRunning(
                url.clientConfiguration(applicationName: "fault-suite", maximumConnections: 16), backgroundLogger: logger) { client in
                _ = try await LabelledCorpus.store(corpus, on: client, logger: logger)
                try await Self.configure(client, logger: logger)
                let fleet = try FaultFleet(binDirectory: options.binDirectory, logDirectory: logs, database: url, gatewayURL: gateway.url)
                let run = FaultRun(scenario: scenario, options: options, client: client, logger: logger, ledger: FaultLedger(),
                                   fleet: fleet, gateway: gateway, cluster: cluster, texts: corpus.map(\.text),
                                   prefix: "f\(options.seed)-", databaseName: databaseName)
                let result: FaultResult
                do {
                    result = try await run.execute()
                } catch {
                    _ = await fleet.stop(grace: .seconds(5))
                    throw error
                }
                return result
            }
            await gateway.stop()
            if result.violations.isEmpty {
                try? await Self.admin(server, "DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)", logger: logger)
            }
            return result
        } catch {
            await gateway.stop()
            throw error
        }
    }

    /// Short deadlines and no quiet hours, so timers, escalations and callbacks all happen in
    /// a run of seconds whatever the time of day.
    static func configure(_ client: PostgresClient, logger: Logger) async throws {
        for statement in [
            "UPDATE hotline.settings SET value = '[\"00:00\", \"00:00\"]' WHERE key = 'citizen.quiet_hours'",
            "UPDATE hotline.settings SET value = '0' WHERE key = 'callback.delay_minutes'",
            "UPDATE hotline.settings SET value = '1000' WHERE key = 'sms.citizen_daily_cap'",
            "UPDATE hotline.sla_policies SET day_kind = 'calendar', allowance = CASE timer_kind WHEN 'accept' THEN interval '8 seconds' ELSE interval '16 seconds' END",
        ] {
            try await client.execute(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
    }

    static func admin(_ url: DatabaseURL, _ sql: String, logger: Logger) async throws {
        let connection = try await PostgresConnection.connect(configuration: url.connectionConfiguration(), id: 0, logger: logger)
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw DatabaseError(error)
        }
    }
}

/// One scenario's run: the people, the faults and the checks share this.
struct FaultRun: Sendable {
    let scenario: FaultScenario
    let options: FaultOptions
    let client: PostgresClient
    let logger: Logger
    let ledger: FaultLedger
    let fleet: FaultFleet
    let gateway: GatewaySimulator
    let cluster: LocalCluster
    let texts: [String]
    /// Every external id of this run starts with it.
    let prefix: String
    let databaseName: String

    func execute() async throws -> FaultResult {
        try await waitForWorkers()
        let end = ContinuousClock.now + .seconds(options.seconds)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await channelLoad(until: end) }
            group.addTask { await unitLoad(until: end) }
            group.addTask { await citizenLoad(until: end) }
            group.addTask { await injectFaults(until: end) }
        }
        // Faults off: the provider answers, the database's timeouts are back to normal, every
        // worker runs. Then the fleet must settle on its own.
        gateway.behaviour = .normal
        try await client.execute(PostgresQuery(unsafeSQL: "ALTER DATABASE \(databaseName) RESET ALL"), logger: logger)
        for exited in try fleet.restartStopped() { ledger.violation("worker exited by itself: \(exited)") }
        let drainStart = ContinuousClock.now
        try await drain()
        let drainSeconds = (ContinuousClock.now - drainStart).seconds
        if scenario == .gateway {
            ledger.update { $0.recoveries.append(drainSeconds) }
        }
        try await checkInvariants()
        let rows = try await rowsChecked()
        let badExits = await fleet.stop()
        ledger.check(badExits.isEmpty, "workers that did not stop cleanly on SIGTERM: \(badExits)")
        let state = ledger.snapshot
        var result = FaultResult(scenario: scenario, seed: options.seed)
        result.submitted = state.acknowledged.count
        result.refused = state.bad.values.filter { $0 != nil }.count
        result.faults = state.faults
        result.faults["SIGKILL"] = fleet.killCount > 0 ? fleet.killCount : nil
        result.checks = state.checks
        result.rowsChecked = rows
        result.violations = state.violations
        result.recoveries = state.recoveries
        result.drainSeconds = drainSeconds
        result.notes = state.notes
        if scenario == .timeouts {
            result.notes.append("timeouts seen in worker logs: \(timeoutsInLogs())")
        }
        return result
    }

    private func waitForWorkers() async throws {
        if let notReady = await SignIn.wait(for: fleet.processes, client: client, logger: logger, timeout: .seconds(120)) {
            throw FaultSuiteError("the fleet did not start: \(notReady) (logs in \(options.logDirectory.path))")
        }
        try await Task.sleep(for: .milliseconds(500))
    }

    /// Waits until nothing is left to do: every ticket placed, no job due or running, every
    /// SMS final, every due timer point fired — three times in a row, 1 s apart, so a step in
    /// flight between two looks is not mistaken for the end.
    private func drain() async throws {
        let deadline = ContinuousClock.now + .seconds(240)
        var quiet = 0
        while quiet < 3 {
            let open = (try? await client.first("""
                SELECT ((SELECT count(*) FROM hotline.tickets t WHERE t.status IN ('received', 'extracted', 'returned', 'reopened')
                           AND NOT EXISTS (SELECT 1 FROM hotline.dispatcher_queue q WHERE q.ticket_id = t.id AND q.status = 'waiting'))
                      + (SELECT count(*) FROM queue.jobs WHERE status IN ('available', 'running') OR (status = 'scheduled' AND run_at < now() + interval '5 seconds'))
                      + (SELECT count(*) FROM hotline.sms_outbox WHERE status IN ('pending', 'sending', 'held', 'unknown'))
                      + (SELECT count(*) FROM hotline.sla_timers WHERE status = 'running' AND next_fire_at < now() + interval '2 seconds'))::int
                """, as: Int.self, logger: logger)) ?? 1
            quiet = open == 0 ? quiet + 1 : 0
            if ContinuousClock.now > deadline {
                ledger.violation("the fleet did not settle within 240 s of the faults ending (\(open) things still open)")
                return
            }
            try await Task.sleep(for: .seconds(1))
        }
    }

    private func timeoutsInLogs() -> Int {
        let logs = options.logDirectory.appendingPathComponent(scenario.rawValue)
        let files = (try? FileManager.default.contentsOfDirectory(at: logs, includingPropertiesForKeys: nil)) ?? []
        return files.reduce(0) { total, file in
            let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
            return total + text.components(separatedBy: "55P03").count - 1 + text.components(separatedBy: "57014").count - 1
        }
    }
}
