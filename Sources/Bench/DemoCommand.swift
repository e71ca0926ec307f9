import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PostgresNIO
import Shared
import UnixSignals

/// `hotline-bench demo`: the whole fleet at work on a database — the six workers as processes,
/// with simulated channels, units, a dispatcher and citizens around them — and a live view of
/// what happens, refreshed every two seconds. Ctrl-C (or SIGTERM, or `--seconds`, or
/// `--tickets` once they are all settled) stops it: the people stop, the workers drain and exit,
/// and a summary prints. `ops/demo` starts it on a throwaway cluster.
/// Writes a line to standard output at once (unbuffered: the screen, the summary and the
/// workers' own output stay in order).
func say(_ text: String = "") {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run the fleet with simulated channels, units and citizens, and show it live.")

    @Option(name: .customLong("database-url"), help: "Overrides DATABASE_URL.") var databaseURL: String?
    @Option(help: "Stop after this many seconds (0: until Ctrl-C).") var seconds = 0
    @Option(help: "Stop submitting after this many tickets, and end when they have all settled (or at --seconds).") var tickets: Int?
    @Option(help: "Complaints per second.") var rate = 3.0
    @Option(help: "Seed of the simulation's choices.") var seed: UInt64?
    @Flag(help: "Shorten the SLA deadlines and the callback delay in the database (a throwaway demo database only!).") var demoTime = false
    @Option(help: "The labelled corpus the channels send texts from.") var corpus = "data/complaints-corpus.tsv"
    @Option(help: "Folder for the workers' logs and the SMS file gateway.") var logs = ".local/demo"
    @Option(help: "Seconds between screen refreshes.") var refresh = 2.0
    @Flag(help: "Print progress lines instead of redrawing the screen (the default when output is not a terminal).") var plain = false

    func validate() throws {
        guard (0...86_400).contains(seconds) else { throw ValidationError("--seconds must be 0–86400") }
        if let tickets { guard (1...1_000_000).contains(tickets) else { throw ValidationError("--tickets must be 1–1000000") } }
        guard rate > 0, rate <= 200 else { throw ValidationError("--rate must be above 0 and at most 200 per second") }
        guard (0.5...60).contains(refresh) else { throw ValidationError("--refresh must be 0.5–60 seconds") }
    }

    enum StopReason: Sendable, CustomStringConvertible {
        case interrupted, timeUp, settled, workerExited(String, ChildProcess.Termination)
        var description: String {
            switch self {
            case .interrupted: "interrupted"
            case .timeUp: "time is up"
            case .settled: "every ticket has settled"
            case .workerExited(let worker, let end): "\(worker) exited by itself (\(end))"
            }
        }
    }

    func run() async throws {
        let logger = {
            var logger = Logger(label: "demo")
            logger.logLevel = .error
            return logger
        }()
        let environment = ProcessInfo.processInfo.environment
        guard let text = databaseURL ?? environment["DATABASE_URL"], !text.isEmpty else {
            throw ValidationError("DATABASE_URL is not set (ops/demo starts a throwaway cluster and sets it)")
        }
        let url = try DatabaseURL(text, variable: databaseURL == nil ? "DATABASE_URL" : "--database-url")
        let rows = try LabelledCorpus.read(path: corpus)
        guard rows.count >= 10 else { throw ValidationError("\(corpus) has too few rows") }
        let logFolder = URL(fileURLWithPath: logs)
        try FileManager.default.createDirectory(at: logFolder, withIntermediateDirectories: true)
        let bin = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let seed = seed ?? UInt64.random(in: 1...999_999)
        let time: DemoTime = demoTime ? .demo : .real
        let live = !plain && isatty(STDOUT_FILENO) != 0
        let (seconds, tickets, rate, refresh) = (self.seconds, self.tickets, self.rate, self.refresh)

        // Signals first, so a Ctrl-C during start-up is not lost.
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)

        try await PostgresClient.withRunning(url.clientConfiguration(applicationName: "hotline-demo", maximumConnections: 8),
                                             backgroundLogger: logger) { client in

            if time.shortened { try await DemoTime.apply(time, client: client, logger: logger) }
            let sink = logFolder.appendingPathComponent("sms-sent.jsonl")
            try? FileManager.default.removeItem(at: sink)
            var workerEnvironment = environment
            workerEnvironment["DATABASE_URL"] = url.urlString
            workerEnvironment["HOTLINE_SMS_GATEWAY"] = environment["HOTLINE_SMS_GATEWAY"] ?? "file:\(sink.path)"
            workerEnvironment["HOTLINE_LINK_SECRET"] = environment["HOTLINE_LINK_SECRET"] ?? "demo-only-link-secret-\(seed)-\(UInt64.random(in: 0...UInt64.max))"
            workerEnvironment["HOTLINE_LOG_LEVEL"] = environment["HOTLINE_LOG_LEVEL"] ?? "notice"
            if time.shortened {
                // Deadlines of seconds want workers that look often.
                workerEnvironment["HOTLINE_SLA_IDLE_SECONDS"] = environment["HOTLINE_SLA_IDLE_SECONDS"] ?? "1"
                workerEnvironment["HOTLINE_ESCALATION_SCAN_SECONDS"] = environment["HOTLINE_ESCALATION_SCAN_SECONDS"] ?? "5"
                workerEnvironment["HOTLINE_SMS_IDLE_SECONDS"] = environment["HOTLINE_SMS_IDLE_SECONDS"] ?? "2"
                workerEnvironment["HOTLINE_POLL_SECONDS"] = environment["HOTLINE_POLL_SECONDS"] ?? "2"
            }
            let fleet = try DemoFleet(binDirectory: bin, logDirectory: logFolder, environment: workerEnvironment)
            say("==> started \(DemoFleet.workers.count) workers: " + fleet.pids.map { "\($0.worker) (pid \($0.pid))" }.joined(separator: ", "))
            say("    logs in \(logs)/, SMS to \(workerEnvironment["HOTLINE_SMS_GATEWAY"]!); seed \(seed)")
            // The clock starts when the fleet can work, so a slow start does not eat the run.
            let warming = ContinuousClock.now
            if let notReady = await fleet.waitUntilReady(client: client, logger: logger, timeout: .seconds(300)) {
                say("==> stopping: \(notReady)")
                _ = await fleet.stop(grace: .seconds(40))
                throw ExitCode(1)
            }
            say("==> all \(DemoFleet.workers.count) workers ready after \(String(format: "%.1f", (ContinuousClock.now - warming).seconds)) s; the people start")
            let started = ContinuousClock.now

            let tally = DemoTally()
            let channels = DemoChannels(client: client, logger: logger, tally: tally, corpus: rows, rate: rate, limit: tickets, seed: seed,
                                        prefix: "demo-\(seed)-")
            let units = DemoUnits(client: client, logger: logger, tally: tally, time: time, seed: seed)
            let citizens = DemoCitizens(client: client, logger: logger, tally: tally, seed: seed)

            let reason: StopReason = await withTaskGroup(of: StopReason?.self) { group in
                group.addTask { _ = await channels.run(); return nil }
                group.addTask { await units.run(); return nil }
                group.addTask { await citizens.run(); return nil }
                group.addTask {
                    for await _ in signals { return .interrupted }
                    return nil
                }
                if seconds > 0 {
                    group.addTask {
                        try? await Task.sleep(for: .seconds(seconds))
                        return Task.isCancelled ? nil : .timeUp
                    }
                }
                if let tickets {
                    group.addTask { await Self.waitUntilSettled(tickets: tickets, tally: tally, client: client, logger: logger) ? .settled : nil }
                }
                group.addTask {
                    // The screen, and a watch on the workers.
                    var lastLine = ContinuousClock.now
                    while !Task.isCancelled {
                        if let exited = fleet.firstExited() { return .workerExited(exited.worker, exited.termination) }
                        if let snapshot = try? await DemoSnapshot.load(client: client, logger: logger) {
                            let screen = DemoScreen(time: time, elapsed: .now - started, snapshot: snapshot, tally: tally.snapshot, rate: rate)
                            if live {
                                say("\u{1B}[H\u{1B}[2J" + screen.render())
                            } else if ContinuousClock.now - lastLine >= .seconds(10) {
                                say(screen.line())
                                lastLine = .now
                            }
                        }
                        try? await Task.sleep(for: .milliseconds(Int64(refresh * 1000)))
                    }
                    return nil
                }
                var reason: StopReason = .interrupted
                for await outcome in group {
                    if let outcome { reason = outcome; break }
                }
                group.cancelAll()
                return reason
            }

            say("\n==> stopping (\(reason)): the people stop; the workers finish or release their jobs")
            let exits = await fleet.stop(grace: .seconds(40))
            let summary = try await DemoSnapshot.load(client: client, logger: logger)
            say()
            say(DemoScreen(time: time, elapsed: .now - started, snapshot: summary, tally: tally.snapshot, rate: rate).render(final: true))
            say()
            say(Table(["worker", "pid", "processed", "what", "exit"],
                        exits.map { exit in
                            [exit.worker, "\(exit.pid)", "\(summary.processed[exit.worker] ?? 0)", DemoSnapshot.processedMeaning[exit.worker] ?? "",
                             exit.termination.map { "\($0)" } ?? "killed after the grace period"]
                        }).render())
            let left = summary.queues.reduce(0) { $0 + $1.available + $1.due }
            if left > 0 {
                say("\(left) job(s) submitted at the last moment wait in their queues (kept: they run at the next start)")
            }
            let idle = DemoFleet.workers.filter { (summary.processed[$0] ?? 0) == 0 }
            say(idle.isEmpty ? "every worker processed work" : "processed nothing: \(idle.joined(separator: ", "))")
            let clean = exits.allSatisfy { $0.termination == .exited(0) }
            say(clean ? "all \(exits.count) workers exited 0; none left running" : "NOT CLEAN: a worker did not exit 0")
            if case .workerExited = reason { throw ExitCode(1) }
            if !clean { throw ExitCode(1) }
        }
    }

    /// True once the channels have sent their tickets and every one is at rest: closed with its
    /// callback answered (or handed to an operator), linked as a repeat call, or cancelled — and
    /// no job is waiting or running.
    static func waitUntilSettled(tickets: Int, tally: DemoTally, client: PostgresClient, logger: Logger) async -> Bool {
        var quiet = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            guard tally.snapshot.created >= tickets else { continue }
            let busy = try? await client.first("""
                SELECT (SELECT count(*)::int FROM hotline.tickets WHERE status NOT IN ('closed', 'merged', 'cancelled'))
                     + (SELECT count(*)::int FROM hotline.callback_surveys WHERE status = 'sent')
                     + (SELECT count(*)::int FROM hotline.tickets t WHERE t.status = 'closed'
                           AND NOT EXISTS (SELECT 1 FROM hotline.callback_surveys s WHERE s.ticket_id = t.id AND s.round = t.dispatch_round))
                     + (SELECT count(*)::int FROM queue.jobs WHERE status IN ('available', 'running') OR (status = 'scheduled' AND run_at <= now()))
                     + (SELECT count(*)::int FROM hotline.sms_outbox WHERE status IN ('pending', 'sending'))
                """, as: Int.self, logger: logger)
            quiet = busy == 0 ? quiet + 1 : 0
            if quiet >= 3 { return true }
        }
        return false
    }
}
