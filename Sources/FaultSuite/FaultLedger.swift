import Foundation
import Synchronization

/// What the load generators did and saw, so the invariants can compare the database with it.
/// Written by several tasks at once, hence the lock.
final class FaultLedger: Sendable {
    struct State {
        /// external id → ticket id, for every good submission a channel got an answer for.
        var acknowledged: [String: Int64] = [:]
        /// Good submissions that never got an answer (the channel gave up).
        var unanswered: [String] = []
        /// Bad submissions and the SQLSTATE they were refused with (nil: accepted!).
        var bad: [String: String?] = [:]
        /// Burst callers with more than one call: phone → external ids.
        var repeatCallers: [String: [String]] = [:]
        var acceptedAssignments: Set<Int64> = []
        var closedTickets: Set<Int64> = []
        var repliedSurveys: [Int64: String] = [:]
        var faults: [String: Int] = [:]
        var recoveries: [Double] = []
        var violations: [String] = []
        var checks = 0
        var notes: [String] = []
    }

    private let state = Mutex(State())

    func update<R>(_ body: (inout State) -> R) -> R { state.withLock { body(&$0) } }
    var snapshot: State { state.withLock { $0 } }

    func fault(_ kind: String, _ count: Int = 1) { update { $0.faults[kind, default: 0] += count } }
    func violation(_ text: String) { update { $0.violations.append(text) } }
    func check(_ ok: Bool, _ text: @autoclosure () -> String) {
        let text = ok ? nil : text()
        update {
            $0.checks += 1
            if let text { $0.violations.append(text) }
        }
    }
}
