import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Shared
import Synchronization
import Testing

/// Test-side options: short leases and intervals so behaviour shows in seconds.
func testOptions(concurrency: Int = 4, batch: Int? = nil, lease: Duration = .seconds(5),
                 poll: Duration = .milliseconds(500), grace: Duration = .seconds(5)) -> RuntimeOptions {
    RuntimeOptions(concurrency: concurrency, claimBatch: batch, lease: lease, pollInterval: poll,
                   shutdownGrace: grace, owner: RuntimeOptions.makeOwner(worker: "test"))
}

/// Runs `worker` in this process (listener, runtime and the worker's own `services` in one
/// ServiceGroup, as `WorkerProcess.main` does, beside a running client) while `body` runs, then
/// shuts the group down gracefully, as SIGTERM would.
func withWorker<R: Sendable>(
    _ worker: Worker, on database: TestDatabase, options: RuntimeOptions = testOptions(), listen: Bool = true,
    services: (PostgresClient, WakeupListener?, Logger) -> [any Service] = { _, _, _ in [] },
    _ body: @Sendable (JobQueue) async throws -> R
) async throws -> R {
    let logger = database.logger
    let configuration = database.url.clientConfiguration(applicationName: options.owner, maximumConnections: options.concurrency + 6)
    // The client runs beside the group, not in it: its run() is entered before the body's or the
    // runtime's first query, and it outlives the group's drain (which releases jobs through it).
    return try await PostgresClient.withRunning(configuration, backgroundLogger: logger) { client in
        let listener = listen ? WakeupListener(client: client, logger: logger) : nil
        let runtime = WorkerRuntime(worker: worker, client: client, options: options, listener: listener, logger: logger)
        var group: [any Service] = []
        if let listener { group.append(listener) }
        group.append(contentsOf: services(client, listener, logger))
        group.append(runtime)
        let serviceGroup = ServiceGroup(services: group, gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
        let queue = JobQueue(client: client, logger: logger)
        return try await withThrowingTaskGroup(of: R?.self) { tasks in
            tasks.addTask {
                try await serviceGroup.run()
                return nil
            }
            do {
                let result = try await body(queue)
                await serviceGroup.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await serviceGroup.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }
}

/// Thread-safe record of what handlers saw.
final class Recorder: Sendable {
    private let state = Mutex<(events: [String], running: Int, maxRunning: Int)>(([], 0, 0))

    func record(_ event: String) { state.withLock { $0.events.append(event) } }
    var events: [String] { state.withLock { $0.events } }
    var count: Int { state.withLock { $0.events.count } }

    func enter() {
        state.withLock {
            $0.running += 1
            $0.maxRunning = max($0.maxRunning, $0.running)
        }
    }
    func leave() { state.withLock { $0.running -= 1 } }
    var maxRunning: Int { state.withLock { $0.maxRunning } }
}

struct Note: JobPayload, Equatable {
    static let kind = "test.note"
    var text: String
    var sleepMilliseconds: Int? = nil
}

struct AlwaysFails: JobPayload {
    static let kind = "test.fails"
}

extension SQLRunner {
    /// A single integer from a query (counts in assertions).
    func count(_ query: PostgresQuery, logger: Logger = TestDatabase.logger) async throws -> Int {
        try await first(query, as: Int.self, logger: logger) ?? -1
    }
}

/// Runs the `;`-separated statements of `sql` (with `$T` replaced by `ticket`) as setup, then
/// expects the last one (the whole of `sql` when `setup` is false: its text may hold `;`) to fail with SQLSTATE `code` and leave `footprint` (a count query over
/// the tables the call writes) unchanged: a refusal with a stable code, nothing half-written.
func expectRefused(_ client: PostgresClient, _ sql: String, ticket: Int64? = nil, setup: Bool = true, code: String, what: String,
                   footprint: String = "SELECT count(*) FROM hotline.ticket_events", logger: Logger = TestDatabase.logger) async throws {
    let text = sql.replacingOccurrences(of: "$T", with: ticket.map(String.init) ?? "$T")
    let statements = setup ? text.split(separator: ";").map(String.init) : [text]
    for statement in statements.dropLast() {
        try await client.execute(PostgresQuery(unsafeSQL: statement), logger: logger)
    }
    let before = try await client.count(PostgresQuery(unsafeSQL: footprint))
    let error = await #expect(throws: DatabaseError.self, "\(what)") {
        try await client.execute(PostgresQuery(unsafeSQL: statements.last!), logger: logger)
    }
    #expect(error?.sqlState == code, "\(what): \(String(describing: error))")
    #expect(try await client.count(PostgresQuery(unsafeSQL: footprint)) == before, "\(what): nothing half-written")
}
