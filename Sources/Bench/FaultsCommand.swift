import ArgumentParser
import FaultSuite
import Foundation
import Logging
import Shared

/// `hotline-bench faults`: the fault-and-load suite on a PostgreSQL cluster of its own (it
/// restarts the server). Prints the report table; exits 1 when any invariant was violated.
struct FaultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "faults", abstract: "Run the fault-and-load suite and print its report.")

    @Option(help: "Seed of every random choice; the report names it, so a failing run can be replayed.") var seed: UInt64?
    @Option(help: "Seconds of load with faults per scenario.") var seconds = 40
    @Option(help: "Steady complaints per second.") var rate = 15
    @Option(help: "Only these scenarios, comma-separated (\(FaultScenario.allCases.map(\.rawValue).joined(separator: ", "))).") var only: String?
    @Option(help: "Port for the suite's own cluster.") var port = 25460

    func run() async throws {
        var logger = Logger(label: "faults")
        logger.logLevel = .error
        let scenarios = try only.map { list in
            try list.split(separator: ",").map { name in
                guard let scenario = FaultScenario(rawValue: String(name)) else {
                    throw ValidationError("unknown scenario \(name); known: \(FaultScenario.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return scenario
            }
        } ?? FaultScenario.allCases
        guard (5...3600).contains(seconds), (1...500).contains(rate) else {
            throw ValidationError("--seconds must be 5…3600 and --rate 1…500")
        }
        let root = try Bench.repositoryRoot()
        let seed = seed ?? UInt64.random(in: 1...999_999)
        let bin = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let options = FaultOptions(seed: seed, seconds: seconds, rate: rate, binDirectory: bin, repositoryRoot: root,
                                   logDirectory: root.appendingPathComponent(".local/faults"))
        note("starting the fault suite's own cluster on port \(port)")
        let cluster = try await LocalCluster.start(name: "faults", port: port, repositoryRoot: root)
        let started = Date()
        let results = try await FaultSuite.run(scenarios, options: options, cluster: cluster, logger: logger) { note($0) }
        await cluster.stop()
        print("- seed \(seed), \(seconds) s per scenario at \(rate) complaints/s, \(ProcessInfo.processInfo.activeProcessorCount) cores, \(Int(Date().timeIntervalSince(started))) s in all; worker logs in .local/faults/\n")
        print(renderFaultReport(results))
        if results.contains(where: { !$0.violations.isEmpty }) { throw ExitCode(1) }
    }
}
