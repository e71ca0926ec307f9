import FaultSuite
import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

/// The fault-and-load suite (`ops/faults`) in CI's time: every scenario, shorter and slower than
/// the ops command runs it, on a cluster of its own (it restarts the server). Each scenario must
/// end with zero invariant violations; and the invariants themselves must catch a broken state.
@Suite("Fault and load suite", .serialized)
struct FaultSuiteTests {
    static let seed: UInt64 = ProcessInfo.processInfo.environment["FAULTS_SEED"].flatMap(UInt64.init) ?? 20261205

    @Test("every scenario ends with nothing lost", arguments: FaultScenario.allCases)
    func scenarioEndsClean(_ scenario: FaultScenario) async throws {
        let cluster = try await OwnCluster.start("faults")
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("faults-\(UUID().uuidString)")
        let options = FaultOptions(seed: Self.seed, seconds: 16, rate: 6, binDirectory: ProbeProcess.productsDirectory,
                                   repositoryRoot: Repository.root, logDirectory: logs)
        let results: [FaultResult]
        do {
            let local = try await LocalCluster.start(name: cluster.name, port: cluster.port, repositoryRoot: Repository.root)
            results = try await FaultSuite.run([scenario], options: options, cluster: local, logger: TestDatabase.logger)
            await cluster.destroy()
        } catch {
            await cluster.destroy()
            throw error
        }
        let result = try #require(results.first)
        #expect(result.violations.isEmpty, "seed \(Self.seed), logs in \(logs.path):\n\(renderFaultReport(results))")
        #expect(result.submitted > 20)
        #expect(result.faultCount > 0, "the scenario injected no fault")
        #expect(result.checks > 20)
        if scenario == .postgresRestart {
            #expect(!result.recoveries.isEmpty)
            // The target: processing resumes within 5 s of the server accepting
            // connections. Not a speed claim on this machine, a bound on a stuck fleet.
            #expect(result.recoveries.allSatisfy { $0 < 30 }, "recoveries \(result.recoveries)")
        }
        if result.violations.isEmpty { try? FileManager.default.removeItem(at: logs) }
    }

    /// The invariants are not vacuous: a ticket nobody processed, an SMS left pending, a job
    /// left running and a timer point that never fired are each reported.
    @Test func invariantsReportABrokenEndState() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client in
                let clean = try await FaultSuite.databaseInvariants(client: client, prefix: "x-", logger: db.logger)
                #expect(clean.allSatisfy { $0.1 == 0 }, "an empty database is clean: \(clean.filter { $0.1 > 0 })")

                try await client.execute("SELECT hotline.submit_ticket('web', 'x-1', '雁塔区小寨路夜市占道经营，噪音扰民', '13800138000')", logger: db.logger)
                try await client.execute("""
                    INSERT INTO hotline.sms_outbox (unit_id, phone, template, variables)
                    SELECT id, '13800015000', 'sla.urging', '{"unit": "城管局", "ticket_no": "1", "what": "反馈", "due": "12-05 18:00"}'
                      FROM hotline.handling_units WHERE code = 'XA-CGJ'
                    """, logger: db.logger)
                try await client.execute("""
                    UPDATE queue.jobs SET status = 'running', lease_owner = 'gone', lease_expires_at = now() - interval '1 minute'
                    """, logger: db.logger)
                let found = try await FaultSuite.databaseInvariants(client: client, prefix: "x-", logger: db.logger)
                let broken = Set(found.filter { $0.1 > 0 }.map(\.0))
                #expect(broken.contains("a ticket is stuck before dispatch"))
                #expect(broken.contains("an SMS is not in a final state"))
                #expect(broken.contains("a job is left running, waiting or dead"))
            }
        }
    }
}
