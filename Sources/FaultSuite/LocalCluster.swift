public import Foundation
public import Shared

/// A throwaway PostgreSQL cluster of the fault suite's own (`ops/pg-cluster`): the suite
/// restarts and stops it, so it must never be a server anything else uses.
public struct LocalCluster: Sendable {
    public let name: String
    public let port: Int
    public let url: DatabaseURL
    let root: URL

    /// Starts (creating if needed) the cluster `name` on `port`.
    public static func start(name: String, port: Int, repositoryRoot root: URL) async throws -> LocalCluster {
        let output = try await ChildProcess.output(root.appendingPathComponent("ops/pg-cluster").path, ["start", name, String(port)])
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("postgres://") }) else {
            throw FaultSuiteError("ops/pg-cluster start printed no URL: \(output)")
        }
        return LocalCluster(name: name, port: port, url: try DatabaseURL(String(line)), root: root)
    }

    /// `pg_ctl restart` with the given shutdown mode (`fast` or `immediate`); returns when the
    /// server accepts connections again (`-w`).
    public func restart(mode: String) async throws {
        _ = try await pgctl(["-m", mode, "-w", "-t", "120", "restart"])
    }

    /// Stops the server (fast).
    public func stop() async {
        _ = try? await ChildProcess.output(root.appendingPathComponent("ops/pg-cluster").path, ["stop", name])
    }

    /// Stops the server and deletes its folder.
    public func destroy() async {
        _ = try? await ChildProcess.output(root.appendingPathComponent("ops/pg-cluster").path, ["destroy", name])
    }

    private func pgctl(_ arguments: [String]) async throws -> String {
        let base = ProcessInfo.processInfo.environment["HOTLINE_PG_BASE"] ?? root.appendingPathComponent(".pg").path
        let data = "\(base)/\(name)/data"
        let bin = ["/usr/lib/postgresql/15/bin/pg_ctl"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/pg_ctl"
        let common = ["-D", data, "-l", "\(base)/\(name)/server.log"] + arguments
        // PostgreSQL refuses to run as root; ops/pg-cluster made the folder the postgres user's.
        if getuid() == 0 {
            return try await ChildProcess.output("/usr/sbin/runuser", ["-u", "postgres", "--", bin] + common)
        }
        return try await ChildProcess.output(bin, common)
    }
}

/// A fault-suite failure that is not an invariant violation (setup, a stuck drain).
public struct FaultSuiteError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
