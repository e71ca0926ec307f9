import Shared
import Testing

/// A worker's command line: no arguments runs it, `--help` explains it, anything else is refused.
@Suite("Worker usage")
struct WorkerUsageTests {
    let usage = WorkerUsage(name: "sla-timer", about: "fires the SLA deadlines.", defaultHTTPPort: 9403,
                            commands: ["evaluate [--corpus F]   scores it"])

    @Test func noArgumentsRunsTheWorker() {
        #expect(usage.verdict([]) == nil)
    }

    @Test(arguments: ["--help", "-h", "help"])
    func helpPrintsWhatItIsAndWhereItsSettingsComeFrom(flag: String) throws {
        let (code, text) = try #require(usage.verdict([flag]))
        #expect(code == 0)
        for part in ["sla-timer: fires the SLA deadlines.", "sla-timer evaluate [--corpus F]", "DATABASE_URL", "127.0.0.1:9403", "exit code 78"] {
            #expect(text.contains(part), "\(part) in:\n\(text)")
        }
    }

    @Test(arguments: [["--bogus"], ["--help", "--verbose"], ["run"], [String(repeating: "x", count: 500)]])
    func anythingElseIsRefusedNamingIt(arguments: [String]) throws {
        let (code, text) = try #require(usage.verdict(arguments))
        #expect(code == WorkerUsage.usageExitCode)
        #expect(text.contains("unexpected argument") && text.contains(String(arguments[0].prefix(80))))
        #expect(text.count < 400, "a huge argument is shortened in the message")
    }

    @Test func withoutADefaultPortTheEndpointIsOffUnlessSet() {
        let text = WorkerUsage(name: "probe", about: "x", defaultHTTPPort: nil).help
        #expect(text.contains("off unless set"))
    }
}
