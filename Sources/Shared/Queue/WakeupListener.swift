public import Logging
public import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// One LISTEN connection per process, fanned out to the runtimes by queue name. A notification
/// only shortens a wait: after every (re)connect all subscribers are woken for a catch-up claim,
/// because PostgreSQL drops notifications sent while nobody listened.
public final class WakeupListener: Service, Sendable {
    /// The channel the `queue.jobs` trigger notifies; the payload is the queue's name.
    public static let channel = "queue_jobs"

    private let client: PostgresClient
    private let logger: Logger
    private let health: HealthState?
    private let subscribers = Mutex<[String: [WakeSignal]]>([:])

    private let probeInterval: Duration

    public init(client: PostgresClient, logger: Logger, health: HealthState? = nil, probeInterval: Duration = .seconds(30)) {
        self.client = client
        self.probeInterval = probeInterval
        self.logger = logger
        self.health = health
    }

    /// Wakes `signal` whenever `queue` may have work, and after every reconnect.
    public func subscribe(queue: String, signal: WakeSignal) {
        subscribers.withLock { $0[queue, default: []].append(signal) }
    }

    private func wake(queue: String) {
        let signals = subscribers.withLock { $0[queue] ?? [] }
        for signal in signals { signal.signal() }
    }

    private func wakeAll() {
        let signals = subscribers.withLock { $0.values.flatMap { $0 } }
        for signal in signals { signal.signal() }
    }

    /// A half-open TCP connection never fails on its own, and the listener would wait forever
    /// (pg-boss and graphile-worker users lost wake-ups that way). Every `probeInterval` the
    /// listening session must confirm, within 10 s, that it still listens.
    private func probe(_ connection: PostgresConnection) async throws {
        while true {
            try await Task.sleep(for: probeInterval)
            let listening = try await withTimeout(.seconds(10), "listener probe") {
                try await connection.first(
                    "SELECT count(*)::int FROM pg_listening_channels() c WHERE c = \(Self.channel)",
                    as: Int.self, logger: self.logger)
            }
            guard listening == 1 else {
                throw DatabaseError(code: .unavailable, message: "the listening session no longer listens on \(Self.channel)")
            }
            self.health?.listener(connected: true)
        }
    }

    public func run() async throws {
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        failures = 0
                        self.health?.listener(connected: true)
                        self.logger.debug("listening for wake-ups", metadata: ["channel": "\(Self.channel)"])
                        self.wakeAll()
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                for try await notification in notifications.cancelOnGracefulShutdown() {
                                    self.wake(queue: notification.payload)
                                }
                            }
                            group.addTask {
                                do {
                                    try await self.probe(connection)
                                } catch {
                                    // Close it, so the pool replaces it instead of lending out a dead connection.
                                    if !(error is CancellationError) { try? await connection.close() }
                                    throw error
                                }
                            }
                            // Whichever ends first: the notifications (shutdown) or the probe (lost connection).
                            try await group.next()
                            group.cancelAll()
                        }
                    }
                }
                // The sequence ends on shutdown; otherwise the connection went away quietly.
                health?.listener(connected: false)
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                logger.warning("wake-up listener ended; listening again")
            } catch {
                health?.listener(connected: false)
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                failures += 1
                logger.warning("wake-up listener lost its connection; listening again",
                               metadata: ["error": "\(DatabaseError(error))", "failures": "\(failures)"])
            }
            // 0.25 s, 0.5 s, 1 s … up to 5 s between tries; polling covers the gap.
            let backoff = Backoff.delay(afterFailures: failures + 1)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: backoff) }
        }
    }
}
