import Foundation
import CoreMetrics
import Metrics
import Synchronization

/// What `/healthz` reports: the runtime's phase, when the database last answered, and whether
/// the wake-up listener is connected. Unhealthy when the database has not answered for longer
/// than `staleAfter` (PostgresNIO waits ~60 s in its pool before failing, so we time it ourselves).
public final class HealthState: Sendable {
    public enum Phase: String, Sendable { case starting, running, draining, stopped }

    private struct State {
        var phase: Phase = .starting
        var lastDatabaseSuccess: ContinuousClock.Instant?
        var lastDatabaseError: String?
        var listenerConnected = false
        var listenerEverConnected = false
    }
    private let state = Mutex(State())
    private let databaseUp = Gauge(label: "hotline_db_up")
    private let listenerUp = Gauge(label: "hotline_listener_connected")
    private let reconnects = Counter(label: "hotline_listener_reconnects_total")
    public let staleAfter: Duration

    public init(staleAfter: Duration = .seconds(30)) {
        self.staleAfter = staleAfter
    }

    public func set(_ phase: Phase) { state.withLock { $0.phase = phase } }

    public func databaseSucceeded() {
        state.withLock {
            $0.lastDatabaseSuccess = .now
            $0.lastDatabaseError = nil
        }
        databaseUp.record(1)
    }

    public func databaseFailed(_ error: any Error) {
        state.withLock { $0.lastDatabaseError = String(describing: error) }
        databaseUp.record(0)
    }

    public func listener(connected: Bool) {
        // Only a connection after an earlier one counts as a reconnect.
        let counted = state.withLock { state -> Bool in
            let reconnect = connected && !state.listenerConnected && state.listenerEverConnected
            state.listenerConnected = connected
            state.listenerEverConnected = state.listenerEverConnected || connected
            return reconnect
        }
        listenerUp.record(connected ? 1 : 0)
        if counted { reconnects.increment() }
    }

    /// HTTP status and a JSON body.
    public func report() -> (healthy: Bool, body: String) {
        let snapshot = state.withLock { $0 }
        let age = snapshot.lastDatabaseSuccess.map { ContinuousClock.now - $0 }
        let databaseOK = age.map { $0 <= staleAfter } ?? false
        let healthy = databaseOK && (snapshot.phase == .running || snapshot.phase == .draining)
        var fields: [String: Any] = [
            "status": healthy ? "ok" : "unhealthy",
            "phase": snapshot.phase.rawValue,
            "database": databaseOK ? "up" : "down",
            "listener": snapshot.listenerConnected ? "connected" : "disconnected",
        ]
        if let age { fields["database_last_ok_seconds_ago"] = (age.seconds * 1000).rounded() / 1000 }
        if let error = snapshot.lastDatabaseError { fields["database_last_error"] = error }
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        return (healthy, String(decoding: data, as: UTF8.self))
    }
}
