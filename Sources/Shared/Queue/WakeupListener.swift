public import Logging
public import PostgresNIO
public import ServiceLifecycle
import Crypto
import Foundation
import Synchronization

/// One LISTEN connection per process, fanned out to the runtimes by queue name. Each queue (or
/// table a loop watches) has a channel of its own (`channel(for:)`, `sql/0026_wake_channels.sql`),
/// and the connection listens only on the channels of this process's subscribers, so it never
/// wakes for another worker's queue. A notification only shortens a wait: after every
/// (re)connect all subscribers are woken for a catch-up claim, because PostgreSQL drops
/// notifications sent while nobody listened.
public final class WakeupListener: Service, Sendable {
    /// The prefix of every wake-up channel; the payload is the queue's (or table's) name.
    public static let channelPrefix = "queue_jobs."

    /// The channel that wakes the workers of `target` (a queue, or a table a loop watches), as
    /// `queue.wake_channel()` names it: the prefix and the name, or the name's MD5 when the two
    /// would not fit PostgreSQL's 63-byte channel names.
    public static func channel(for target: String) -> String {
        if target.utf8.count <= 52 { return channelPrefix + target }
        return channelPrefix + Insecure.MD5.hash(data: Data(target.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private let client: PostgresClient
    private let logger: Logger
    private let health: HealthState?
    private let subscribers = Mutex<[String: [WakeSignal]]>([:])
    /// Signalled when a subscription adds a channel, so a listening session starts again with it.
    private let channelsChanged = WakeSignal()

    private let probeInterval: Duration

    public init(client: PostgresClient, logger: Logger, health: HealthState? = nil, probeInterval: Duration = .seconds(30)) {
        self.client = client
        self.probeInterval = probeInterval
        self.logger = logger
        self.health = health
    }

    /// Wakes `signal` whenever `queue` may have work, and after every reconnect.
    public func subscribe(queue: String, signal: WakeSignal) {
        let added = subscribers.withLock { subscribers -> Bool in
            defer { subscribers[queue, default: []].append(signal) }
            return subscribers[queue] == nil
        }
        if added { channelsChanged.signal() }
    }

    /// The channels to listen on, one per subscribed name.
    var channels: [String] {
        subscribers.withLock { $0.keys.sorted().map(Self.channel(for:)) }
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
    private func probe(_ connection: PostgresConnection, channels: [String]) async throws {
        while true {
            try await Task.sleep(for: probeInterval)
            let listening = try await withTimeout(.seconds(10), "listener probe") {
                try await connection.first(
                    "SELECT count(*)::int FROM pg_listening_channels() c WHERE c = ANY(\(channels))",
                    as: Int.self, logger: self.logger)
            }
            guard listening == channels.count else {
                throw DatabaseError(code: .unavailable,
                                    message: "the listening session listens on \(listening ?? 0) of its \(channels.count) channels")
            }
            self.health?.listener(connected: true)
        }
    }

    public func run() async throws {
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let listened = Mutex(false)
            do {
                // Consumed here: a subscription from now on starts the session again.
                _ = await channelsChanged.wait(timeout: .zero)
                let channels = self.channels
                try await client.withConnection { connection in
                    try await connection.listen(on: channels[...]) { sequences in
                        listened.withLock { $0 = true }
                        self.health?.listener(connected: true)
                        self.logger.debug("listening for wake-ups", metadata: ["channels": "\(channels)"])
                        self.wakeAll()
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for notifications in sequences {
                                group.addTask {
                                    for try await notification in notifications.cancelOnGracefulShutdown() {
                                        self.wake(queue: notification.payload)
                                    }
                                }
                            }
                            group.addTask {
                                do {
                                    try await self.probe(connection, channels: channels)
                                } catch {
                                    // Close it, so the pool replaces it instead of lending out a dead connection.
                                    if !(error is CancellationError) { try? await connection.close() }
                                    throw error
                                }
                            }
                            group.addTask {
                                await self.channelsChanged.wait(timeout: nil)
                            }
                            // With no channel there is no sequence to end on shutdown.
                            group.addTask { try? await gracefulShutdown() }
                            // Whichever ends first: shutdown, the probe (lost connection) or a
                            // new channel to listen on.
                            try await group.next()
                            group.cancelAll()
                        }
                    }
                }
                if listened.withLock({ $0 }) { failures = 0 }
                if Task.isCancelled || Task.isShuttingDownGracefully {
                    health?.listener(connected: false)
                    return
                }
                if channels != self.channels {
                    logger.debug("wake-up channels changed; listening again")
                    continue
                }
                // The sequence ended otherwise: the connection went away quietly.
                health?.listener(connected: false)
                logger.warning("wake-up listener ended; listening again")
            } catch {
                health?.listener(connected: false)
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                if listened.withLock({ $0 }) { failures = 0 }
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

extension PostgresConnection {
    /// LISTENs on each of `channels` (one `listen(on:)` inside the next; PostgresNIO sends UNLISTEN
    /// for each as its closure exits) and runs `body` with their notifications, in the same order.
    public func listen<Value>(on channels: ArraySlice<String>,
                              _ body: @Sendable ([PostgresNotificationSequence]) async throws -> Value) async throws -> Value {
        try await listen(on: channels, opened: [], body)
    }

    private func listen<Value>(on channels: ArraySlice<String>, opened: [PostgresNotificationSequence],
                               _ body: @Sendable ([PostgresNotificationSequence]) async throws -> Value) async throws -> Value {
        guard let channel = channels.first else { return try await body(opened) }
        return try await listen(on: channel) { sequence in
            try await listen(on: channels.dropFirst(), opened: opened + [sequence], body)
        }
    }
}
