/// `operation` did not finish within its time.
public struct TimeoutError: Error, CustomStringConvertible, Sendable {
    public let what: String
    public let after: Duration
    public var description: String { "\(what) did not finish within \(after)" }
}

/// Runs `operation`, cancelling it and throwing `TimeoutError` after `limit`. The operation must
/// respond to cancellation (guarded queries do).
public func withTimeout<R: Sendable>(_ limit: Duration, _ what: String,
                                     _ operation: @escaping @Sendable () async throws -> R) async throws -> R {
    try await withThrowingTaskGroup(of: R?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
            throw TimeoutError(what: what, after: limit)
        }
        return result
    }
}
