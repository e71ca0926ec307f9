import Foundation
import Shared
import Testing

@Suite("Runtime parts")
struct RuntimePartsTests {
    @Test func backoffGrowsExponentiallyWithinItsJitterAndCap() {
        let policy = RetryPolicy(base: .seconds(1), factor: 2, cap: .seconds(60), jitter: 0.25)
        #expect(policy.delay(afterAttempt: 1, unit: 0.5) == .seconds(1))
        #expect(policy.delay(afterAttempt: 4, unit: 0.5) == .seconds(8))
        #expect(policy.delay(afterAttempt: 4, unit: 0) == .seconds(6))
        #expect(policy.delay(afterAttempt: 4, unit: 0.999_999).seconds > 9.99)
        #expect(policy.delay(afterAttempt: 30, unit: 0.999) <= .seconds(60), "never past the cap")
        #expect(policy.delay(afterAttempt: 0, unit: 0.5) == .seconds(1))
        for attempt in 1...20 {
            let delay = policy.delay(afterAttempt: attempt).seconds
            let raw = min(60, pow(2, Double(attempt - 1)))
            #expect(delay >= raw * 0.75 - 1e-9 && delay <= min(60, raw * 1.25) + 1e-9)
        }
    }

    @Test func wakeSignalRemembersASignalSentBeforeTheWait() async {
        let signal = WakeSignal()
        signal.signal()
        #expect(await signal.wait(timeout: .seconds(30)))
        #expect(await signal.wait(timeout: .milliseconds(20)) == false, "consumed")
    }

    @Test func wakeSignalWakesAWaiterAndStopsOnCancellation() async {
        let signal = WakeSignal()
        async let woken = signal.wait(timeout: .seconds(60))
        try? await Task.sleep(for: .milliseconds(50))
        signal.signal()
        #expect(await woken)

        let task = Task { await signal.wait(timeout: nil) }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        #expect(await task.value == false)
    }

    @Test func tableAlignsColumnsIncludingChinese() {
        let text = Table(["queue", "n"], [["受理", "1"], ["dispatch", "22"]]).render()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[2].hasPrefix("受理      1"))
        #expect(lines[3] == "dispatch  22")
    }

    @Test func workerRefusesASecondHandlerForTheSameKind() throws {
        var worker = try Worker(name: "w", queue: "q")
        try worker.registerPing()
        let error = #expect(throws: QueueError.self) { try worker.registerPing() }
        #expect(error?.code == .duplicateHandler)
        #expect(throws: QueueError.self) { try Worker(name: "w", queue: "Not A Queue") }
    }
}
