public import Foundation
public import Logging
public import PostgresNIO
import ServiceLifecycle

/// One retention round (`sql/0020_retention.sql`): archive the events of long-ended tickets,
/// then prune operational rows past their window, each in short transactions until nothing is
/// left or the round's bound is reached. Every transaction first takes the retention lock with
/// `hotline.try_retention_lock()`; when another process holds it, the round stops and says so,
/// so replicas never wait on each other or do the same work twice. Used by the sla-timer's
/// `RetentionLoop` and by `hotline retain`.
public struct Retention: Sendable {
    /// Most events moved per archive transaction (whole tickets only).
    public var archiveBatch: Int
    /// Most rows of each kind removed per prune transaction.
    public var pruneBatch: Int
    /// Most transactions per phase in one round; a round that reaches it reports `complete == false`.
    public var maxBatches: Int

    public init(archiveBatch: Int = 5000, pruneBatch: Int = 10_000, maxBatches: Int = 1000) {
        self.archiveBatch = max(1, archiveBatch)
        self.pruneBatch = max(1, pruneBatch)
        self.maxBatches = max(1, maxBatches)
    }

    /// What a round did.
    public struct Report: Sendable, Equatable {
        /// False when another process held the retention lock: this round did nothing more.
        public var lockAvailable = true
        /// Ended tickets whose events (all of them still in the hot table) moved to the archive.
        public var archivedTickets = 0
        /// Events moved to the archive.
        public var archivedEvents = 0
        /// Rows removed per kind (`sms_outbox`, `sms_inbound`, `sms_receipts`, `sms_citizen_day`, `queue.workers`).
        public var pruned: [String: Int] = [:]
        /// Transactions that did work or looked for it.
        public var transactions = 0
        /// True when both phases ran until nothing was left; false when the lock was taken, the
        /// round reached `maxBatches`, or it stopped for a shutdown.
        public var complete = false

        public init() {}

        /// Rows removed, all kinds together.
        public var prunedTotal: Int { pruned.values.reduce(0, +) }
    }

    /// Runs one round as of `now` (nil: the database's clock). Stops early between transactions
    /// when the task is cancelled or the process shuts down gracefully.
    public func round(client: PostgresClient, logger: Logger, now: Date? = nil) async throws -> Report {
        var report = Report()
        var archiveDone = false
        for _ in 0..<maxBatches {
            if Self.stopping { return report }
            let moved = try await client.transaction(logger: logger) { connection -> (Int, Int)? in
                guard try await Self.lock(connection, logger: logger) else { return nil }
                return try await connection.first("""
                    SELECT tickets, events FROM hotline.archive_ended_tickets(coalesce(\(now), now()), \(archiveBatch)::int)
                    """, as: (Int, Int).self, logger: logger)
            }
            report.transactions += 1
            guard let (tickets, events) = moved else {
                report.lockAvailable = false
                return report
            }
            report.archivedTickets += tickets
            report.archivedEvents += events
            if tickets == 0 {
                archiveDone = true
                break
            }
        }
        for _ in 0..<maxBatches {
            if Self.stopping { return report }
            let removed = try await client.transaction(logger: logger) { connection -> [(String, Int)]? in
                guard try await Self.lock(connection, logger: logger) else { return nil }
                return try await connection.all("""
                    SELECT what, removed FROM hotline.prune_operational(coalesce(\(now), now()), \(pruneBatch)::int)
                    """, as: (String, Int).self, logger: logger)
            }
            report.transactions += 1
            guard let removed else {
                report.lockAvailable = false
                return report
            }
            for (what, count) in removed {
                report.pruned[what, default: 0] += count
            }
            if removed.allSatisfy({ $0.1 < pruneBatch }) {
                report.complete = archiveDone
                return report
            }
        }
        return report
    }

    /// What a round as of `now` would archive and prune, counted without changing anything:
    /// `archive.tickets`, `archive.events`, then one row per prune kind.
    public static func preview(client: PostgresClient, logger: Logger, now: Date? = nil) async throws -> [(what: String, count: Int)] {
        try await client.all("SELECT what, candidates FROM hotline.retention_preview(coalesce(\(now), now()))",
                             as: (String, Int).self, logger: logger).map { (what: $0.0, count: $0.1) }
    }

    private static func lock(_ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.first("SELECT hotline.try_retention_lock()", as: Bool.self, logger: logger) ?? false
    }

    private static var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
