import Foundation
import Logging
import PostgresNIO
import Shared
import Synchronization
import Testing

/// Where the repository is, for sql/ and ops/ scripts.
enum Repository {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let sql = root.appendingPathComponent("sql")
    static let ops = root.appendingPathComponent("ops")
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
}

/// Each test gets its own fresh database, cloned from a migrated template, so suites and tests
/// run in parallel without seeing each other's jobs or notifications (NOTIFY is per database).
/// A test that cannot reach PostgreSQL fails: DATABASE_URL must point at a server.
struct TestDatabase: Sendable {
    let url: DatabaseURL
    let name: String
    let logger: Logger

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }

    /// The server to create test databases on.
    static func serverURL() throws -> DatabaseURL {
        guard let text = ProcessInfo.processInfo.environment["DATABASE_URL"], !text.isEmpty else {
            throw TestSetupError(description: "DATABASE_URL is not set: run the tests with ops/test, which starts a throwaway PostgreSQL")
        }
        return try DatabaseURL(text)
    }

    /// A new migrated database for one test; dropped by `drop()`.
    static func make(_ label: String = #function, server: DatabaseURL? = nil) async throws -> TestDatabase {
        let server = try server ?? serverURL()
        let template = try await Template.shared.name(on: server)
        let clean = label.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        let name = "t_\(String(String.UnicodeScalarView(clean)).prefix(30))_\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        try await Admin.run(on: server, "CREATE DATABASE \(name) TEMPLATE \(template)")
        return TestDatabase(url: server.with(database: name), name: name, logger: logger)
    }

    /// An empty database (for migration tests).
    static func makeEmpty(_ label: String = #function) async throws -> TestDatabase {
        let server = try serverURL()
        let clean = label.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        let name = "e_\(String(String.UnicodeScalarView(clean)).prefix(30))_\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        try await Admin.run(on: server, "CREATE DATABASE \(name)")
        return TestDatabase(url: server.with(database: name), name: name, logger: logger)
    }

    func drop() async {
        try? await Admin.run(on: url.with(database: "postgres"), "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs `body` with a running pooled client on this database.
    @discardableResult
    func withClient<R: Sendable>(maximumConnections: Int = 10,
                                 _ body: @Sendable (PostgresClient) async throws -> R) async throws -> R {
        try await PostgresClient.withRunning(url.clientConfiguration(applicationName: "test", maximumConnections: maximumConnections),
                                             backgroundLogger: logger, body)
    }

    /// Runs `body` on a fresh database and drops it afterwards, also when `body` throws.
    /// At most `DatabaseGate.limit` such tests run at once, so parallel tests and the worker
    /// processes they start stay within the server's connection slots.
    static func with<R: Sendable>(_ label: String = #function, _ body: @Sendable (TestDatabase) async throws -> R) async throws -> R {
        try await DatabaseGate.shared.holding { try await using(try await make(label), body) }
    }

    /// Runs `body` on an empty (unmigrated) database and drops it afterwards.
    static func withEmpty<R: Sendable>(_ label: String = #function, _ body: @Sendable (TestDatabase) async throws -> R) async throws -> R {
        try await DatabaseGate.shared.holding { try await using(try await makeEmpty(label), body) }
    }

    private static func using<R: Sendable>(_ database: TestDatabase, _ body: @Sendable (TestDatabase) async throws -> R) async throws -> R {
        do {
            let result = try await body(database)
            await database.drop()
            return result
        } catch {
            await database.drop()
            throw error
        }
    }
}

/// Bounds how many tests hold a database at once. A test that already holds a place (a database
/// made inside another's body) does not wait for a second one, so nesting cannot deadlock.
actor DatabaseGate {
    static let shared = DatabaseGate(limit: ProcessInfo.processInfo.environment["HOTLINE_TEST_DATABASES"].flatMap(Int.init) ?? 12)
    @TaskLocal static var isHolding = false

    let limit: Int
    private var inUse = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = max(1, limit) }

    nonisolated func holding<R: Sendable>(_ body: @Sendable () async throws -> R) async throws -> R {
        if Self.isHolding { return try await body() }
        await acquire()
        do {
            let result = try await Self.$isHolding.withValue(true) { try await body() }
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async {
        if inUse < limit { inUse += 1; return }
        await withCheckedContinuation { waiting.append($0) }   // the place is handed over by release()
    }

    private func release() {
        if waiting.isEmpty { inUse -= 1 } else { waiting.removeFirst().resume() }
    }
}

/// One-off statements on a single connection (CREATE/DROP DATABASE cannot run in a pool's
/// transaction and should not wait on one).
enum Admin {
    static func run(on url: DatabaseURL, _ sql: String) async throws {
        try await withConnection(on: url) { connection in
            try await connection.execute(PostgresQuery(unsafeSQL: sql), logger: TestDatabase.logger)
        }
    }

    static func withConnection<R>(on url: DatabaseURL, _ body: (PostgresConnection) async throws -> R) async throws -> R {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: url.connectionConfiguration(), id: 0, logger: TestDatabase.logger)
        } catch {
            throw TestSetupError(description: "cannot reach PostgreSQL at \(url.redacted): \(DatabaseError(error))")
        }
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw DatabaseError(error)
        }
    }
}

/// The migrated template, built once per test process and per content of sql/. Tests run in
/// parallel and all ask at once: the first builds it and the others wait for that same build
/// (an actor is reentrant across awaits, so a plain dictionary of results would let every test
/// build a template of its own — two hundred parallel migrations on CI's two cores).
actor Template {
    static let shared = Template()
    private var builds: [String: Task<String, any Error>] = [:]

    func name(on server: DatabaseURL) async throws -> String {
        let serverKey = "\(server.unixSocketDirectory ?? server.host):\(server.port)"
        let build = builds[serverKey] ?? Task { try await Self.build(on: server) }
        builds[serverKey] = build
        do {
            return try await build.value
        } catch {
            // A failed build is not remembered: the next test tries again.
            if builds[serverKey] == build { builds[serverKey] = nil }
            throw error
        }
    }

    private static func build(on server: DatabaseURL) async throws -> String {
        let migrations = try Migrator.load(directory: Repository.sql)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in migrations.flatMap({ Array(($0.fileName + $0.sql).utf8) }) {
            hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3
        }
        let name = "tpl_\(String(hash, radix: 36))"
        if try await exists(name, on: server) { return name }
        let building = "\(name)_b\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        try await Admin.run(on: server, "CREATE DATABASE \(building)")
        try await Migrator(migrations: migrations, logger: TestDatabase.logger).migrate(url: server.with(database: building))
        // Rename into place only when complete, so a half-built template is never used. The
        // migrator's server process may still be exiting after its connection closed (55006,
        // "being accessed by other users"), so the rename is tried again for a while.
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await Admin.run(on: server, "ALTER DATABASE \(building) RENAME TO \(name)")
                return name
            } catch let error as DatabaseError where error.sqlState == "55006" && attempt < 100 {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                // Another test process may have put the same template in place first.
                try? await Admin.run(on: server, "DROP DATABASE IF EXISTS \(building) WITH (FORCE)")
                if try await exists(name, on: server) { return name }
                throw error
            }
        }
    }

    private static func exists(_ name: String, on server: DatabaseURL) async throws -> Bool {
        try await Admin.withConnection(on: server) { connection in
            try await connection.first("SELECT 1 FROM pg_database WHERE datname = \(name)", as: Int.self, logger: TestDatabase.logger) != nil
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes. A bound for failure, never a speed claim.
func eventually(_ what: String, timeout: Duration = .seconds(120), every interval: Duration = .milliseconds(100),
                _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return }
        if ContinuousClock.now >= deadline {
            throw TestSetupError(description: "timed out after \(timeout) waiting for: \(what)")
        }
        try await Task.sleep(for: interval)
    }
}
