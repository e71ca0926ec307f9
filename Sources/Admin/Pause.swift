import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Shared

/// The names a pause can name beside the job queues: the hotline's own claiming loops, each
/// paused under the name it wakes on (see sql/0018_operations.sql).
enum PausableLoops {
    static let all: [(name: String, what: String)] = [
        ("hotline.sms_outbox", "sms-notify's sending of the SMS outbox"),
        ("hotline.sla_timers", "sla-timer's firing of deadline points"),
    ]

    /// A hint for a queue whose main work runs in a loop of its own.
    static func hint(for queue: String) -> String? {
        switch queue {
        case "sms-notify": "note: sms-notify sends SMS from the outbox, which is paused as 'hotline.sms_outbox'; the queue 'sms-notify' holds only pings"
        case "sla-timer": "note: sla-timer fires deadlines from 'hotline.sla_timers'; the queue 'sla-timer' holds only pings"
        default: nil
        }
    }
}

/// Who is at the keyboard, for the pause record: --by, else $USER@host.
func operatorName(_ given: String?) -> String {
    if let given { return given }
    let user = ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"] ?? "operator"
    let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
    return "\(user)@\(host)"
}

/// `hotline pause <queue> --reason …`: no worker claims from the queue until it is resumed.
struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pause a queue: its jobs wait (nothing is lost, running jobs finish) until `hotline resume`; survives restarts.",
        discussion: "Besides job queues: 'hotline.sms_outbox' pauses SMS sending, 'hotline.sla_timers' pauses deadline firing.")
    @OptionGroup var connection: Connection
    @Argument(help: "The queue (as in `hotline status`).") var queue: String
    @Option(help: "Why (recorded and shown in `hotline status`).") var reason: String
    @Option(help: "Who pauses (default: $USER@host).") var by: String?
    @Flag(help: "Pause a name no worker serves and no job uses (yet).") var force = false

    func validate() throws {
        guard queue.wholeMatch(of: /[a-z0-9][a-z0-9_.\-]{0,62}/) != nil else {
            throw ValidationError("'\(queue.prefix(80))' is no queue name: 1–63 of a-z 0-9 _ . - starting with a letter or digit")
        }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty, reason.count <= 500 else {
            throw ValidationError("--reason must say why, in 1–500 characters")
        }
        if let by, by.trimmingCharacters(in: .whitespaces).isEmpty || by.count > 200 {
            throw ValidationError("--by must name who pauses, in 1–200 characters")
        }
    }

    func run() async throws {
        let queue = self.queue, reason = self.reason, person = operatorName(by), force = self.force
        try await connection.withClient { client, logger in
            if !force, !(try await Self.isKnown(queue, client: client, logger: logger)) {
                let known = try await Self.known(client: client, logger: logger).joined(separator: ", ")
                throw ValidationError("no worker serves '\(queue)' and no job was ever on it (a typo?); known: \(known). Use --force to pause it anyway.")
            }
            let queues = JobQueue(client: client, logger: logger)
            let paused = try await queues.pause(queue: queue, by: person, reason: reason)
            let running = try await client.first("""
                SELECT count(*)::int FROM queue.jobs WHERE queue = \(queue) AND status = 'running'
                """, as: Int.self, logger: logger) ?? 0
            if paused {
                print("paused \(queue): no new claims; " + (running == 0 ? "nothing was running" : "\(running) running job(s) finish under their leases"))
            } else {
                let pause = try await queues.stats().first { $0.queue == queue }?.pause
                print("\(queue) was already paused\(pause.map { " by \($0.by): \($0.reason)" } ?? "")")
            }
            if let hint = PausableLoops.hint(for: queue) { print(hint) }
        }
    }

    /// A name a worker serves (heartbeats), a job used (unfinished or archived), or a loop's.
    static func isKnown(_ queue: String, client: PostgresClient, logger: Logger) async throws -> Bool {
        if PausableLoops.all.contains(where: { $0.name == queue }) { return true }
        return try await client.first("""
            SELECT EXISTS (SELECT 1 FROM queue.workers WHERE \(queue) = ANY (queues))
                OR EXISTS (SELECT 1 FROM queue.jobs WHERE queue = \(queue))
                OR EXISTS (SELECT 1 FROM queue.finished_jobs WHERE queue = \(queue))
                OR EXISTS (SELECT 1 FROM queue.queues WHERE name = \(queue))
            """, as: Bool.self, logger: logger) ?? false
    }

    static func known(client: PostgresClient, logger: Logger) async throws -> [String] {
        let names = try await client.all("""
            SELECT DISTINCT q FROM (SELECT unnest(queues) AS q FROM queue.workers
                                    UNION SELECT DISTINCT queue FROM queue.jobs) k ORDER BY q
            """, as: String.self, logger: logger)
        return names + PausableLoops.all.map(\.name)
    }
}

/// `hotline resume <queue>`: workers claim from it again, woken at once by the queue's NOTIFY.
struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resume a paused queue; its workers are woken at once.")
    @OptionGroup var connection: Connection
    @Argument(help: "The queue.") var queue: String
    @Option(help: "Who resumes (default: $USER@host).") var by: String?

    func validate() throws {
        guard queue.wholeMatch(of: /[a-z0-9][a-z0-9_.\-]{0,62}/) != nil else {
            throw ValidationError("'\(queue.prefix(80))' is no queue name: 1–63 of a-z 0-9 _ . - starting with a letter or digit")
        }
        if let by, by.trimmingCharacters(in: .whitespaces).isEmpty || by.count > 200 {
            throw ValidationError("--by must name who resumes, in 1–200 characters")
        }
    }

    func run() async throws {
        let queue = self.queue, person = operatorName(by)
        try await connection.withClient { client, logger in
            // Counted in the resume's own statement: once it commits, the woken workers may claim
            // everything before a second statement could look.
            let row = try await client.first("""
                SELECT queue.resume(\(queue), \(person)),
                       (SELECT count(*)::int FROM queue.jobs WHERE queue = \(queue) AND status IN ('available', 'scheduled') AND run_at <= now())
                """, as: (Bool, Int).self, logger: logger)
            let (resumed, waiting) = row ?? (false, 0)
            print(resumed ? "resumed \(queue): \(waiting) job(s) ready; its workers were woken" : "\(queue) was not paused")
        }
    }
}
