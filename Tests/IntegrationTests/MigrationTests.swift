import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

/// Migrations against a real, empty PostgreSQL database.
@Suite("Migrations")
struct MigrationTests {
    static func scratchDirectory(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files {
            try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return dir
    }

    @Test func appliesInOrderRecordsChecksumsAndIsIdempotent() async throws {
        try await TestDatabase.withEmpty { db in
            let migrator = try Migrator(directory: Repository.sql, logger: db.logger)
            let first = try await migrator.migrate(url: db.url)
            #expect(first.applied == migrator.migrations.map(\.version))
            let second = try await migrator.migrate(url: db.url)
            #expect(second.applied.isEmpty)
            #expect(second.alreadyApplied == migrator.migrations.map(\.version))
            try await db.withClient { client async throws in
                let rows = try await client.all("SELECT version, length(checksum) FROM schema_migrations ORDER BY version",
                                                as: (Int, Int).self, logger: db.logger)
                #expect(rows.map(\.0) == migrator.migrations.map(\.version))
                #expect(rows.allSatisfy { $0.1 == 64 })
            }
        }
    }

    @Test func manyProcessesMigratingAtOnceApplyEachFileOnce() async throws {
        try await TestDatabase.withEmpty { db in
            let migrator = try Migrator(directory: Repository.sql, logger: db.logger)
            let outcomes = try await withThrowingTaskGroup(of: Migrator.Outcome.self) { group in
                for _ in 0..<6 { group.addTask { try await migrator.migrate(url: db.url) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { !$0.applied.isEmpty }.count == 1)
            #expect(outcomes.flatMap(\.applied).sorted() == migrator.migrations.map(\.version))
        }
    }

    @Test func refusesToRunWhenAnAppliedFileChanged() async throws {
        try await TestDatabase.withEmpty { db in
            let original = try Self.scratchDirectory(["0001_a.sql": "CREATE TABLE a (x int);"])
            try await Migrator(directory: original, logger: db.logger).migrate(url: db.url)
            let edited = try Self.scratchDirectory(["0001_a.sql": "CREATE TABLE a (x bigint);"])
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(directory: edited, logger: db.logger).migrate(url: db.url)
            }
            #expect(error?.message.contains("0001_a.sql was changed after it was applied") == true)
        }
    }

    @Test func refusesADatabaseNewerThanTheBuild() async throws {
        try await TestDatabase.withEmpty { db in
            let newer = try Self.scratchDirectory(["0001_a.sql": "CREATE TABLE a (x int);", "0002_b.sql": "CREATE TABLE b (x int);"])
            try await Migrator(directory: newer, logger: db.logger).migrate(url: db.url)
            let older = try Self.scratchDirectory(["0001_a.sql": "CREATE TABLE a (x int);"])
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(directory: older, logger: db.logger).migrate(url: db.url)
            }
            #expect(error?.message.contains("migration 2 (b), which this build does not know") == true)
        }
    }

    @Test func aFailingFileRollsBackWholeAndNamesTheStatement() async throws {
        try await TestDatabase.withEmpty { db in
            let dir = try Self.scratchDirectory([
                "0001_a.sql": "CREATE TABLE a (x int);",
                "0002_b.sql": "CREATE TABLE b (x int);\nINSERT INTO b VALUES (1);\n-- the next one fails\nINSERT INTO nowhere VALUES (2);",
            ])
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(directory: dir, logger: db.logger).migrate(url: db.url)
            }
            #expect(error?.message.contains("0002_b.sql, statement 3") == true)
            #expect(error?.message.contains("nowhere") == true)
            try await db.withClient { client async throws in
                #expect(try await client.count("SELECT count(*)::int FROM schema_migrations") == 1)
                #expect(try await client.count("SELECT count(*)::int FROM pg_tables WHERE tablename = 'b'") == 0)
                #expect(try await client.count("SELECT count(*)::int FROM pg_tables WHERE tablename = 'a'") == 1)
            }
        }
    }

    @Test func rejectsBadlyNamedOrDuplicateFiles() throws {
        #expect(throws: MigrationError.self) {
            try Migrator.load(directory: try Self.scratchDirectory(["1_a.sql": "SELECT 1"]))
        }
        #expect(throws: MigrationError.self) {
            try Migrator.load(directory: try Self.scratchDirectory(["0001_a.sql": "SELECT 1", "0001_b.sql": "SELECT 2"]))
        }
        #expect(throws: MigrationError.self) {
            try Migrator.load(directory: try Self.scratchDirectory(["0001_Upper.sql": "SELECT 1"]))
        }
        let loaded = try Migrator.load(directory: try Self.scratchDirectory(["0002_b.sql": "x", "0001_a.sql": "y", "README.md": "z"]))
        #expect(loaded.map(\.version) == [1, 2])
    }
}
