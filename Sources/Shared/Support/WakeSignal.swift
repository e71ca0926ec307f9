import Synchronization

/// A level-triggered wake-up for one waiting loop: `signal()` before `wait` is remembered, so a
/// notification that arrives while the loop is busy is never lost, only folded with others.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var nextID: UInt64 = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// Wakes the waiter, or makes the next `wait` return at once.
    public func signal() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.pending = true
            return nil
        }
        continuation?.resume()
    }

    /// Returns when signalled, after `timeout` (nil waits for a signal only), or when the task is
    /// cancelled. Returns true when woken by a signal.
    @discardableResult
    public func wait(timeout: Duration?) async -> Bool {
        if consumePending() { return true }
        guard let timeout else {
            await waitForSignal()
            return consumeAfterWake()
        }
        if timeout <= .zero { return consumePending() }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.waitForSignal()
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            await group.waitForAll()
            return first || self.consumePending()
        }
    }

    private func consumePending() -> Bool {
        state.withLock { state in
            defer { state.pending = false }
            return state.pending
        }
    }

    private func consumeAfterWake() -> Bool {
        _ = consumePending()
        return !Task.isCancelled
    }

    private func waitForSignal() async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    // One waiter at a time: a stale one is released rather than leaked.
                    if let old = state.waiter { old.continuation.resume() }
                    state.waiter = (id, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            continuation?.resume()
        }
    }
}
