import Foundation
import PostgresNIO
import Shared
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `hotline-bench demo` as `ops/demo` runs it, on a test database: the six real workers with
/// simulated channels, units and citizens; in well under a minute every worker has work, and at
/// the end every worker exits 0 and none is left running.
@Suite("Demo")
struct DemoTests {
    @Test func theDemoKeepsEveryWorkerBusyAndStopsCleanly() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                _ = try await IntakeFlowTests.loadCorpus(client, logger: db.logger)
            }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = db.url.urlString
            environment["HOTLINE_HTTP_PORT"] = "off"
            let log = folder.path + ".out"
            defer { try? FileManager.default.removeItem(atPath: log) }
            let demo = try ChildProcess(executable: try ProbeProcess.executable,
                                        arguments: ["demo", "--seconds", "60", "--rate", "4", "--seed", "7", "--demo-time", "--plain",
                                                    "--logs", folder.path, "--corpus", Repository.root.appendingPathComponent("data/complaints-corpus.tsv").path],
                                        environment: environment, outputPath: log)
            let end = await demo.wait(timeout: .seconds(180))
            if end == nil { demo.signal(SIGKILL); _ = await demo.wait(timeout: .seconds(10)) }
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(end == .exited(0), "\(output.suffix(3000))")
            #expect(output.contains("every worker processed work"), "\(output.suffix(3000))")
            #expect(output.contains("all 6 workers exited 0; none left running"), "\(output.suffix(3000))")
            #expect(output.contains("DEMO TIME"), "the shortened deadlines are said on screen")
            // The workers it started are gone (not orphaned).
            let pids = output.matches(of: /\(pid ([0-9]+)\)/).compactMap { Int32($0.output.1) }
            #expect(pids.count == 6, "\(output.prefix(600))")
            for pid in pids { #expect(kill(pid, 0) != 0, "worker pid \(pid) is still running") }

            try await db.withClient { client async throws in
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events WHERE event = 'sla_warning'") > 0)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.callback_surveys WHERE status = 'answered'") > 0)
                #expect(try await client.count("SELECT count(DISTINCT channel)::int FROM hotline.tickets") >= 4)
                #expect(try await client.count("SELECT count(DISTINCT urgency_class)::int FROM hotline.tickets") >= 4)
                #expect(try await client.count("SELECT count(*)::int FROM queue.jobs WHERE status = 'running'") == 0, "drained")
                #expect(try await client.count("SELECT count(*)::int FROM queue.workers") == 0, "every worker signed off")
            }
        }
    }

    @Test func theDemoRefusesBadOptions() async throws {
        for (arguments, message) in [(["--seconds", "100000"], "--seconds must be"), (["--rate", "0"], "--rate must be"),
                                     (["--tickets", "0"], "--tickets must be")] {
            let (end, output) = try await Self.benchCommand(["demo"] + arguments)
            #expect(end != nil && end != .exited(0) && output.contains(message), "\(arguments): \(output)")
        }
    }

    /// The benchmark's `--dispatch-rates` is checked before it starts a cluster.
    @Test func theBenchmarkRefusesBadDispatchRates() async throws {
        for rates in ["0", "50,abc", "200,", "1000", "200,200"] {
            let (end, output) = try await Self.benchCommand(["run", "--dispatch-rates", rates])
            #expect(end != nil && end != .exited(0) && output.contains("--dispatch-rates takes distinct tickets/s"), "\(rates): \(output)")
            #expect(!output.contains("starting the benchmark cluster"), "\(rates): \(output)")
        }
    }

    /// Runs `hotline-bench` with `arguments` (for at most 30 s): how it ended, and what it printed.
    static func benchCommand(_ arguments: [String]) async throws -> (ChildProcess.Termination?, String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let process = try ChildProcess(executable: try ProbeProcess.executable, arguments: arguments,
                                       environment: ProcessInfo.processInfo.environment, outputPath: log)
        let end = await process.wait(timeout: .seconds(30))
        if end == nil { process.signal(SIGKILL); _ = await process.wait(timeout: .seconds(10)) }
        return (end, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }
}
