public import Logging
public import PostgresNIO
import NIOCore
import Synchronization

/// Anything that runs a query: the pooled client, or one connection inside a caller's own
/// transaction. Lets the queue engine serve both without writing each statement twice.
/// Every query goes through `PostgresConnection.guardedRows`, which never hangs on a
/// connection that closed under it.
public protocol SQLRunner: Sendable {
    /// Runs one statement and returns all its rows.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow]
}

extension PostgresClient: SQLRunner {
    public func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        do {
            return try await withConnection { connection in
                try await connection.guardedRows(query, logger: logger)
            }
        } catch {
            throw DatabaseError(error)
        }
    }

    /// A transaction on one pooled connection: BEGIN, `body`, COMMIT (ROLLBACK when `body`
    /// throws, and the error is rethrown as is). Every statement is guarded like `rows`.
    public func transaction<R: Sendable>(logger: Logger, _ body: (PostgresConnection) async throws -> R) async throws -> R {
        try await withConnection { connection in
            try await connection.execute("BEGIN", logger: logger)
            let result: R
            do {
                result = try await body(connection)
            } catch {
                try? await connection.execute("ROLLBACK", logger: logger)
                throw error
            }
            try await connection.execute("COMMIT", logger: logger)
            return result
        }
    }
}

extension PostgresConnection: SQLRunner {
    public func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        do {
            return try await guardedRows(query, logger: logger)
        } catch {
            throw DatabaseError(error)
        }
    }

    /// Runs `query` and collects its rows. PostgresNIO 1.33.2 writes a query to its channel
    /// without a write promise, so a query handed to a connection that closed a moment earlier
    /// (the pool can still lease it during a server restart) is silently dropped and its caller
    /// waits forever; we saw workers stall that way. The query therefore runs in its own task
    /// while a watchdog on the connection's event loop fails the wait once the connection is
    /// closed. A dropped query's task is abandoned (it holds no lock and no lease).
    func guardedRows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        let outcome = QueryOutcome()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[PostgresRow], any Error>) in
                outcome.install(continuation)
                let task = Task {
                    do {
                        let rows = try await self.query(query, logger: logger).collect()
                        outcome.finish(.success(rows))
                    } catch {
                        outcome.finish(.failure(error))
                    }
                }
                outcome.setTask(task)
                let connection = self
                self.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(500), delay: .milliseconds(500)) { repeated in
                    if outcome.isFinished {
                        repeated.cancel()
                    } else if connection.isClosed {
                        repeated.cancel()
                        outcome.finish(.failure(DatabaseError(
                            code: .unavailable, message: "the connection closed before the query was answered")))
                    }
                }
            }
        } onCancel: {
            outcome.cancel()
        }
    }
}

/// The single result of a guarded query, delivered once.
private final class QueryOutcome: Sendable {
    private struct State {
        var continuation: CheckedContinuation<[PostgresRow], any Error>?
        var finished = false
        var cancelled = false
        var task: Task<Void, Never>?
    }
    private let state = Mutex(State())

    var isFinished: Bool { state.withLock { $0.finished } }

    func install(_ continuation: CheckedContinuation<[PostgresRow], any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    func setTask(_ task: Task<Void, Never>) {
        let cancelNow = state.withLock { state -> Bool in
            state.task = task
            return state.cancelled
        }
        if cancelNow { task.cancel() }
    }

    func finish(_ result: Result<[PostgresRow], any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<[PostgresRow], any Error>? in
            guard !state.finished else { return nil }
            state.finished = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(with: result)
    }

    /// The caller was cancelled: stop waiting (the query's own task is cancelled too, but a
    /// statement already sent may still complete on the server).
    func cancel() {
        let task = state.withLock { state -> Task<Void, Never>? in
            state.cancelled = true
            return state.task
        }
        task?.cancel()
        finish(.failure(CancellationError()))
    }
}

extension SQLRunner {
    /// Runs a statement and drops its rows.
    public func execute(_ query: PostgresQuery, logger: Logger) async throws {
        _ = try await rows(query, logger: logger)
    }

    /// Runs a query and decodes every row.
    public func all<each Column: PostgresDecodable & Sendable>(
        _ query: PostgresQuery, as types: (repeat each Column).Type, logger: Logger
    ) async throws -> [(repeat each Column)] {
        let rows = try await rows(query, logger: logger)
        do {
            return try rows.map { try $0.decode((repeat each Column).self) }
        } catch {
            throw DatabaseError(error)
        }
    }

    /// The first row decoded, or nil.
    public func first<each Column: PostgresDecodable & Sendable>(
        _ query: PostgresQuery, as types: (repeat each Column).Type, logger: Logger
    ) async throws -> (repeat each Column)? {
        let rows = try await rows(query, logger: logger)
        guard let row = rows.first else { return nil }
        do {
            return try row.decode((repeat each Column).self)
        } catch {
            throw DatabaseError(error)
        }
    }
}
