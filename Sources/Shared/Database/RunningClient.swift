public import Logging
public import PostgresNIO

extension PostgresClient {
    /// Runs `body` with a pooled client whose `run()` goes on in a child task, cancelled (closing
    /// the connections) when `body` returns or throws. `body` starts once the run task is about
    /// to enter `run()`: PostgresNIO serves a lease taken before `run()` but logs a warning for
    /// each (hundreds of lines in a test run before this). PostgresNIO shows no sign that `run()`
    /// has begun, so this narrows the gap rather than closing it: a thread preempted between the
    /// signal and `run()`'s first line still lets a lease come first (12 warnings in a CI run on
    /// two busy cores), and that lease is served all the same.
    public static func withRunning<R: Sendable>(_ configuration: PostgresClient.Configuration, backgroundLogger: Logger,
                                                _ body: (PostgresClient) async throws -> R) async throws -> R {
        let client = PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger)
        let entering = WakeSignal()
        return try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask {
                entering.signal()
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            _ = await entering.wait(timeout: nil)
            // The run task goes straight on into run(), whose first step marks the client running.
            await Task.yield()
            return try await body(client)
        }
    }
}
