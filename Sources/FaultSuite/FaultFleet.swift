import Foundation
import Shared
import Synchronization

/// The six workers as real processes (the built executables), some in two replicas, which the
/// suite kills and restarts. Every process gets short leases and polls so a killed worker's
/// jobs come back within seconds, not the production 30 s.
final class FaultFleet: Sendable {
    /// Worker products and how many replicas of each run.
    static let layout: [(product: String, replicas: Int)] = [
        ("intake-extraction", 2), ("auto-dispatch", 2), ("sla-timer", 1),
        ("escalation", 1), ("sms-notify", 2), ("satisfaction-callback", 1),
    ]

    struct Slot: Sendable {
        let product: String
        let replica: Int
        var name: String { "\(product)-\(replica)" }
    }

    let slots: [Slot]
    private let binDirectory: URL
    private let logDirectory: URL
    private let environment: [String: String]
    private let running: Mutex<[ChildProcess?]>
    private let kills = Atomic<Int>(0)

    init(binDirectory: URL, logDirectory: URL, database: DatabaseURL, gatewayURL: String) throws {
        self.binDirectory = binDirectory
        self.logDirectory = logDirectory
        slots = Self.layout.flatMap { entry in (1...entry.replicas).map { Slot(product: entry.product, replica: $0) } }
        running = Mutex(Array(repeating: nil, count: slots.count))
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = database.urlString
        environment["HOTLINE_HTTP_PORT"] = "off"
        environment["HOTLINE_LOG_LEVEL"] = environment["FAULTS_WORKER_LOG_LEVEL"] ?? "warning"
        environment["HOTLINE_LEASE_SECONDS"] = "5"
        environment["HOTLINE_POLL_SECONDS"] = "1"
        environment["HOTLINE_SHUTDOWN_GRACE_SECONDS"] = "5"
        environment["HOTLINE_DB_POOL_SIZE"] = "6"
        environment["HOTLINE_SLA_IDLE_SECONDS"] = "2"
        environment["HOTLINE_ESCALATION_SCAN_SECONDS"] = "5"
        environment["HOTLINE_SMS_GATEWAY"] = "http"
        environment["HOTLINE_SMS_URL"] = gatewayURL
        environment["HOTLINE_SMS_AUTH_HEADER"] = "Authorization: Bearer fault-suite"
        environment["HOTLINE_SMS_TIMEOUT_SECONDS"] = "2"
        // One wave per claim (batch ≤ concurrency) keeps the lease short: 2 × 1 × 2 s + 10 s.
        environment["HOTLINE_SMS_BATCH"] = "20"
        environment["HOTLINE_SMS_CONCURRENCY"] = "20"
        environment["HOTLINE_SMS_LEASE_SECONDS"] = "15"
        environment["HOTLINE_SMS_IDLE_SECONDS"] = "2"
        environment["HOTLINE_LINK_SECRET"] = "fault-suite-link-secret-0123456789"
        self.environment = environment
        for slot in slots.indices { try start(slot) }
    }

    var killCount: Int { kills.load(ordering: .relaxed) }

    /// Starts the slot's process if it is not running.
    func start(_ index: Int) throws {
        let slot = slots[index]
        let exe = binDirectory.appendingPathComponent(slot.product).path
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            throw FaultSuiteError("\(exe) is not built (swift build builds every worker)")
        }
        let log = logDirectory.appendingPathComponent("\(slot.name).log").path
        let child = try ChildProcess(executable: exe, arguments: [], environment: environment, outputPath: log)
        running.withLock { $0[index] = child }
    }

    /// SIGKILL, no warning: the process cannot release anything.
    func kill(_ index: Int) {
        let child = running.withLock { processes in
            defer { processes[index] = nil }
            return processes[index]
        }
        guard let child else { return }
        child.signal(SIGKILL)
        kills.add(1, ordering: .relaxed)
    }

    /// The processes running now, by slot name.
    var processes: [(name: String, process: ChildProcess)] {
        let children = running.withLock { $0 }
        return slots.indices.compactMap { index in children[index].map { (slots[index].name, $0) } }
    }

    func isRunning(_ index: Int) -> Bool { running.withLock { $0[index] } != nil }

    /// Restarts every slot whose process is gone (killed, or exited by itself — which is
    /// itself worth reporting: `unexpectedExits` counts those).
    func restartStopped() throws -> [String] {
        var exited: [String] = []
        for index in slots.indices {
            let child = running.withLock { $0[index] }
            if let child, let end = child.poll() {
                exited.append("\(slots[index].name) \(end)")
                running.withLock { $0[index] = nil }
            }
            if !isRunning(index) { try start(index) }
        }
        return exited
    }

    /// SIGTERM to all, then SIGKILL whatever is still running after `grace`; returns the
    /// processes that did not exit 0 on SIGTERM.
    func stop(grace: Duration = .seconds(20)) async -> [String] {
        let children = running.withLock { $0 }
        for child in children { child?.signal(SIGTERM) }
        var bad: [String] = []
        for (index, child) in children.enumerated() {
            guard let child else { continue }
            let end = await child.wait(timeout: grace)
            if end == nil { child.signal(SIGKILL); _ = await child.wait(timeout: .seconds(5)) }
            if end != .exited(0) { bad.append("\(slots[index].name): \(end.map { "\($0)" } ?? "still running after SIGTERM")") }
        }
        running.withLock { $0 = Array(repeating: nil, count: slots.count) }
        return bad
    }
}
