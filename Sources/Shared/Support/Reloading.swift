public import Logging
public import PostgresNIO

/// A value built from the database (a trained model, a rule set) and rebuilt every `refresh`
/// so edits apply without a restart. One load at a time: callers that need the value while it
/// loads wait for that load instead of each starting their own (16 concurrent handlers used to
/// train the same model 16 times at start-up).
public actor Reloading<Value: Sendable> {
    public typealias Load = @Sendable (PostgresClient, Logger) async throws -> Value

    private let refresh: Duration
    private let load: Load
    private var current: (value: Value, loadedAt: ContinuousClock.Instant)?
    private var loading: Task<Value, any Error>?

    public init(every refresh: Duration, _ load: @escaping Load) {
        self.refresh = refresh
        self.load = load
    }

    public func value(_ client: PostgresClient, logger: Logger) async throws -> Value {
        if let current, ContinuousClock.now - current.loadedAt < refresh { return current.value }
        if let loading { return try await loading.value }
        let load = self.load
        let task = Task { try await load(client, logger) }
        loading = task
        defer { loading = nil }
        let value = try await task.value
        current = (value, .now)
        return value
    }
}
