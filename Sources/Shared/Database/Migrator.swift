public import Foundation
public import Logging
public import PostgresNIO

/// One numbered SQL file under `sql/`: `0001_queue.sql` is version 1, named "queue".
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let fileName: String
    public let sql: String
}

public struct MigrationError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { "migration error: \(message)" }
}

/// Applies the numbered files in `sql/` in order, each in its own transaction, recording each in
/// `schema_migrations` with a SHA-256 checksum. Refuses to run when an applied file has changed
/// or the database holds a version this build does not know. A session advisory lock makes it
/// safe for many processes to start at once: one applies, the others wait and then find nothing
/// to do.
public struct Migrator: Sendable {
    /// Chosen once; any process migrating this database takes the same lock.
    static let advisoryLockKey: Int64 = 0x1234_5_0001

    public let migrations: [Migration]
    public let logger: Logger

    public init(migrations: [Migration], logger: Logger) {
        self.migrations = migrations
        self.logger = logger
    }

    /// Reads the migrations from a directory.
    public init(directory: URL, logger: Logger) throws {
        self.init(migrations: try Self.load(directory: directory), logger: logger)
    }

    public static func load(directory: URL) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError(message: "cannot read migrations directory \(directory.path): \(error.localizedDescription)")
        }
        var result: [Migration] = []
        for name in names.sorted() where name.hasSuffix(".sql") {
            let parts = name.dropLast(4).split(separator: "_", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 4, let version = Int(parts[0]), version > 0,
                  parts[1].allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" }), parts[1].allSatisfy(\.isASCII)
            else {
                throw MigrationError(message: "\(name): migration files are named NNNN_lowercase_name.sql")
            }
            if let clash = result.first(where: { $0.version == version }) {
                throw MigrationError(message: "\(name) and \(clash.fileName) share version \(version)")
            }
            let text: String
            do {
                text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            } catch {
                throw MigrationError(message: "cannot read \(name) as UTF-8: \(error.localizedDescription)")
            }
            result.append(Migration(version: version, name: String(parts[1]), fileName: name, sql: text))
        }
        guard !result.isEmpty else { throw MigrationError(message: "no migrations in \(directory.path)") }
        return result
    }

    /// Finds `sql/`: `HOTLINE_SQL_DIR`, else `./sql`, else a `sql` folder beside or above the
    /// running executable (so `.build/debug/x` finds the checkout's files).
    public static func locateDirectory(environment: EnvironmentReader = EnvironmentReader()) throws -> URL {
        if let explicit = environment.string("HOTLINE_SQL_DIR") {
            let url = URL(fileURLWithPath: explicit)
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent("0001_queue.sql").path) else {
                throw ConfigurationError(variable: "HOTLINE_SQL_DIR", message: "\(explicit) holds no 0001_queue.sql")
            }
            return url
        }
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir)
            dir = dir.deletingLastPathComponent()
        }
        for base in candidates {
            let sql = base.appendingPathComponent("sql")
            if FileManager.default.fileExists(atPath: sql.appendingPathComponent("0001_queue.sql").path) { return sql }
        }
        throw ConfigurationError(variable: "HOTLINE_SQL_DIR", message: "not set, and no sql/ folder found beside the working directory or the executable")
    }

    /// What `migrate` did.
    public struct Outcome: Sendable, Equatable {
        public var applied: [Int] = []
        public var alreadyApplied: [Int] = []
    }

    /// Applies pending migrations over one dedicated connection.
    @discardableResult
    public func migrate(url: DatabaseURL) async throws -> Outcome {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: url.connectionConfiguration(), id: 1, logger: logger)
        } catch {
            throw DatabaseError(error)
        }
        do {
            let outcome = try await migrate(on: connection)
            try? await connection.close()
            return outcome
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Applies pending migrations on `connection` (which must not be inside a transaction).
    public func migrate(on connection: PostgresConnection) async throws -> Outcome {
        try await connection.execute("SET lock_timeout = '300s'", logger: logger)
        try await connection.execute("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", logger: logger)
        do {
            let outcome = try await migrateLocked(on: connection)
            try await connection.execute("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
            return outcome
        } catch {
            try? await connection.execute("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
            throw error
        }
    }

    private func migrateLocked(on connection: PostgresConnection) async throws -> Outcome {
        try await connection.execute("""
            CREATE TABLE IF NOT EXISTS public.schema_migrations (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                checksum    text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now(),
                applied_by  text NOT NULL DEFAULT current_user,
                duration_ms double precision NOT NULL
            )
            """, logger: logger)
        let applied = try await connection.all(
            "SELECT version, name, checksum FROM public.schema_migrations ORDER BY version",
            as: (Int, String, String).self, logger: logger)

        var checksums: [Int: String] = [:]
        for migration in migrations {
            let sum = try await connection.first(
                "SELECT encode(sha256(convert_to(\(migration.sql), 'UTF8')), 'hex')", as: String.self, logger: logger)
            checksums[migration.version] = sum
        }

        var outcome = Outcome()
        for (version, name, checksum) in applied {
            guard let migration = migrations.first(where: { $0.version == version }) else {
                throw MigrationError(message: "the database has migration \(version) (\(name)), which this build does not know: it is newer than this build; deploy the newer build or restore the file")
            }
            guard checksums[version] == checksum else {
                throw MigrationError(message: "\(migration.fileName) was changed after it was applied (checksum \(checksum.prefix(12))… in the database, \(checksums[version]?.prefix(12) ?? "?")… on disk); add a new migration instead of editing an applied one")
            }
            outcome.alreadyApplied.append(version)
        }

        for migration in migrations where !outcome.alreadyApplied.contains(migration.version) {
            let statements: [String]
            do {
                statements = try SQLScript.statements(migration.sql)
            } catch {
                throw MigrationError(message: "\(migration.fileName): \(error)")
            }
            let started = ContinuousClock.now
            try await connection.execute("BEGIN", logger: logger)
            do {
                for (index, statement) in statements.enumerated() {
                    do {
                        try await connection.execute(PostgresQuery(unsafeSQL: statement), logger: logger)
                    } catch {
                        let firstLine = statement.split(separator: "\n").first(where: { !$0.hasPrefix("--") }) ?? ""
                        throw MigrationError(message: "\(migration.fileName), statement \(index + 1) (\(firstLine.prefix(80))): \(DatabaseError(error))")
                    }
                }
                let elapsed = ContinuousClock.now - started
                let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                try await connection.execute("""
                    INSERT INTO public.schema_migrations (version, name, checksum, duration_ms)
                    VALUES (\(migration.version), \(migration.name), \(checksums[migration.version] ?? ""), \(ms))
                    """, logger: logger)
                try await connection.execute("COMMIT", logger: logger)
            } catch {
                try? await connection.execute("ROLLBACK", logger: logger)
                throw error
            }
            logger.info("applied migration", metadata: ["migration": "\(migration.fileName)"])
            outcome.applied.append(migration.version)
        }
        return outcome
    }
}
