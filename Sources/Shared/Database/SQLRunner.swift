public import Logging
public import PostgresNIO

/// Anything that runs a query: the pooled client, or one connection inside a caller's own
/// transaction. Lets the queue engine serve both without writing each statement twice.
public protocol SQLRunner: Sendable {
    func run(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence
}

extension PostgresClient: SQLRunner {
    public func run(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        do {
            return try await self.query(query, logger: logger)
        } catch {
            throw DatabaseError(error)
        }
    }
}

extension PostgresConnection: SQLRunner {
    public func run(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        do {
            return try await self.query(query, logger: logger)
        } catch {
            throw DatabaseError(error)
        }
    }
}

extension SQLRunner {
    /// Runs a statement and drops its rows.
    public func execute(_ query: PostgresQuery, logger: Logger) async throws {
        let rows = try await run(query, logger: logger)
        do {
            for try await _ in rows {}
        } catch {
            throw DatabaseError(error)
        }
    }

    /// Runs a query and decodes every row.
    public func all<each Column: PostgresDecodable & Sendable>(
        _ query: PostgresQuery, as types: (repeat each Column).Type, logger: Logger
    ) async throws -> [(repeat each Column)] {
        let rows = try await run(query, logger: logger)
        var result: [(repeat each Column)] = []
        do {
            for try await row in rows.decode((repeat each Column).self) {
                result.append(row)
            }
        } catch {
            throw DatabaseError(error)
        }
        return result
    }

    /// The first row decoded, or nil.
    public func first<each Column: PostgresDecodable & Sendable>(
        _ query: PostgresQuery, as types: (repeat each Column).Type, logger: Logger
    ) async throws -> (repeat each Column)? {
        let rows = try await run(query, logger: logger)
        do {
            for try await row in rows.decode((repeat each Column).self) {
                return row
            }
        } catch {
            throw DatabaseError(error)
        }
        return nil
    }
}
