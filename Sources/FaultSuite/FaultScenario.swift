public import Foundation

/// One fault-and-load scenario: the fleet under load while one kind of fault is injected on a
/// seeded random schedule, then drained and checked from the database.
public enum FaultScenario: String, CaseIterable, Sendable {
    /// SIGKILL of random worker processes every few seconds, each restarted after a moment.
    case killWorkers = "kill-workers"
    /// PostgreSQL restarted under load, with fast and with immediate shutdown.
    case postgresRestart = "pg-restart"
    /// Random worker connections killed with `pg_terminate_backend`.
    case terminateBackends = "terminate-backends"
    /// Lock and statement timeouts hit mid-transaction: the database's `lock_timeout` /
    /// `statement_timeout` set low while another session holds row locks on busy tickets.
    case timeouts
    /// The SMS gateway down, slow, rate-limiting, failing and replying with garbage, in turns.
    case gateway
    /// 20× the steady rate for a while: a heating outage, many identical complaints about one
    /// area, a third of the callers calling again and again.
    case burst
    /// Duplicate submissions racing each other from several connections, and a unit's accept
    /// racing its own return on the same ticket.
    case races

    /// What the scenario does, for the report.
    public var summary: String {
        switch self {
        case .killWorkers: "SIGKILL random workers every 2–5 s, restart after 0.5–3 s"
        case .postgresRestart: "PostgreSQL restarted every 4–7 s (fast, immediate, then either)"
        case .terminateBackends: "pg_terminate_backend on 1–3 worker connections every 1–3 s"
        case .timeouts: "lock_timeout 300 ms / statement_timeout 400 ms while a session holds busy tickets' row locks 1.5 s"
        case .gateway: "SMS gateway down / slow / 429 / 503 / garbage for 2–3 s each, in turns"
        case .burst: "20× the steady rate for 5 s, one area, a third of callers calling 2–3 times"
        case .races: "4 connections submit the same ticket; a unit's accept races its return"
        }
    }
}

/// How a fault run is set up.
public struct FaultOptions: Sendable {
    /// The seed of every random choice (faults, texts, callers, unit actions): a failure is
    /// replayed with the same seed (timing still varies).
    public var seed: UInt64
    /// Seconds of load with faults, per scenario.
    public var seconds: Int
    /// Steady complaints per second.
    public var rate: Int
    /// The folder with the built worker executables.
    public var binDirectory: URL
    /// The repository (for sql/, data/ and ops/pg-cluster).
    public var repositoryRoot: URL
    /// Where worker logs go.
    public var logDirectory: URL

    public init(seed: UInt64, seconds: Int, rate: Int, binDirectory: URL, repositoryRoot: URL, logDirectory: URL) {
        self.seed = seed
        self.seconds = seconds
        self.rate = rate
        self.binDirectory = binDirectory
        self.repositoryRoot = repositoryRoot
        self.logDirectory = logDirectory
    }
}

/// What one scenario did and found.
public struct FaultResult: Sendable {
    public let scenario: FaultScenario
    public let seed: UInt64
    /// Tickets the channels had acknowledged (bad submissions not counted).
    public var submitted = 0
    /// Bad submissions refused with a code, as they should be.
    public var refused = 0
    /// Faults injected, by kind.
    public var faults: [String: Int] = [:]
    /// Invariant checks run (each a query or comparison over every relevant row).
    public var checks = 0
    /// Rows the checks looked at.
    public var rowsChecked = 0
    /// Every violation found, each with a sample.
    public var violations: [String] = []
    /// Seconds from PostgreSQL accepting connections again (or the fault ending) until workers
    /// committed new work.
    public var recoveries: [Double] = []
    /// Seconds from the end of load until the fleet was idle with everything settled.
    public var drainSeconds = 0.0
    /// Facts worth reading beside the table (dispatch rounds in a burst, duplicate sends …).
    public var notes: [String] = []

    public var faultCount: Int { faults.values.reduce(0, +) }
}

/// Markdown table of results, the README's format.
public func renderFaultReport(_ results: [FaultResult]) -> String {
    func seconds(_ value: Double) -> String { String(format: "%.1f", value) }
    var out = "| scenario | seed | tickets | refused bad input | faults injected | checks (rows) | violations | recovery max / p50 (s) | drain (s) |\n"
    out += "|---|---|---|---|---|---|---|---|---|\n"
    for result in results {
        let faults = result.faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let sorted = result.recoveries.sorted()
        let recovery = sorted.isEmpty ? "–" : "\(seconds(sorted.last!)) / \(seconds(sorted[sorted.count / 2]))"
        out += "| \(result.scenario.rawValue) | \(result.seed) | \(result.submitted) | \(result.refused) | \(faults.isEmpty ? "0" : faults) | "
        out += "\(result.checks) (\(result.rowsChecked)) | \(result.violations.count) | \(recovery) | \(seconds(result.drainSeconds)) |\n"
    }
    for result in results where !result.violations.isEmpty || !result.notes.isEmpty {
        out += "\n\(result.scenario.rawValue):\n"
        for note in result.notes { out += "- \(note)\n" }
        for violation in result.violations.prefix(20) { out += "- VIOLATION: \(violation)\n" }
    }
    return out
}
