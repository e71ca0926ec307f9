import Foundation
import Shared

/// A PostgreSQL cluster of a test's own (ops/pg-cluster), for tests that restart or stop the
/// server, so suites sharing the main test server are not disturbed.
struct OwnCluster: Sendable {
    let name: String
    let port: Int
    let url: DatabaseURL

    /// Starts a new cluster on a free port below the kernel's ephemeral range (32768+), where
    /// outgoing connections never take the port first; tries a few ports before giving up.
    static func start(_ label: String) async throws -> OwnCluster {
        var attempt = 0
        while true {
            attempt += 1
            let port = Int.random(in: 21_000...29_999)
            let name = "\(label)-\(port)"
            do {
                return try await start(name: name, port: port)
            } catch {
                _ = try? await run(["destroy", name])
                if attempt >= 5 { throw error }
            }
        }
    }

    private static func start(name: String, port: Int) async throws -> OwnCluster {
        let output = try await run(["start", name, String(port)])
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("postgres://") }) else {
            throw TestSetupError(description: "ops/pg-cluster start printed no URL: \(output)")
        }
        return OwnCluster(name: name, port: port, url: try DatabaseURL(String(line)))
    }

    func restart(mode: String = "fast") async throws {
        _ = try await Self.pgctl(name: name, ["-m", mode, "-w", "-t", "60", "restart"])
    }

    func stop() async throws { _ = try await Self.run(["stop", name]) }
    func startAgain() async throws { _ = try await Self.run(["start", name, String(port)]) }
    func destroy() async { _ = try? await Self.run(["destroy", name]) }

    @discardableResult
    static func run(_ arguments: [String]) async throws -> String {
        try await shell(Repository.ops.appendingPathComponent("pg-cluster").path, arguments)
    }

    static func pgctl(name: String, _ arguments: [String]) async throws -> String {
        let base = ProcessInfo.processInfo.environment["HOTLINE_PG_BASE"] ?? Repository.root.appendingPathComponent(".pg").path
        let data = "\(base)/\(name)/data"
        let bin = ["/usr/lib/postgresql/15/bin/pg_ctl"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "pg_ctl"
        if getuid() == 0 {
            return try await shell("/usr/sbin/runuser", ["-u", "postgres", "--", bin, "-D", data, "-l", "\(base)/\(name)/server.log"] + arguments)
        }
        return try await shell(bin, ["-D", data, "-l", "\(base)/\(name)/server.log"] + arguments)
    }

    static func shell(_ executable: String, _ arguments: [String]) async throws -> String {
        try await ChildProcess.output(executable, arguments)
    }
}
