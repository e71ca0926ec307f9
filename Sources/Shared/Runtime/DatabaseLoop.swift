public import Logging
public import PostgresNIO
public import ServiceLifecycle

/// A worker's own loop beside its job runtime (the SLA-timer's firing, the escalation scan):
/// runs `step`, then waits as long as the step asks, or until `wake` is signalled (a NOTIFY
/// through the process's `WakeupListener`). A failing step is logged and retried after 0.25 s,
/// 0.5 s, 1 s … up to 5 s, so a database outage neither kills the process nor spins it.
/// Stops between steps on graceful shutdown, never in the middle of one.
public final class DatabaseLoop: Service, Sendable {
    /// What a step reports: how long to wait before the next one (zero: at once).
    public typealias Step = @Sendable (PostgresClient, Logger) async throws -> Duration

    public let name: String
    private let client: PostgresClient
    private let logger: Logger
    private let health: HealthState?
    private let wake: WakeSignal
    private let step: Step

    /// Subscribes to `wakeOn` (a queue or table name; its wake-ups come on its own channel) when a
    /// listener is given.
    public init(name: String, client: PostgresClient, listener: WakeupListener?, wakeOn: String? = nil,
                health: HealthState? = nil, logger: Logger, step: @escaping Step) {
        self.name = name
        self.client = client
        self.health = health
        self.step = step
        self.wake = WakeSignal()
        var logger = logger
        logger[metadataKey: "loop"] = "\(name)"
        self.logger = logger
        if let listener, let wakeOn { listener.subscribe(queue: wakeOn, signal: wake) }
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            guard let wait = await Backoff.retryingUntilShutdown("loop step", health: health, logger: logger, wake: wake, {
                try await self.step(self.client, self.logger)
            }) else { return }
            if wait > .zero {
                _ = await cancelWhenGracefulShutdown { await self.wake.wait(timeout: wait) }
            }
        }
    }
}
