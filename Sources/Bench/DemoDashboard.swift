import Foundation
import Logging
import PostgresNIO
import Shared

/// What the demo shows: the database's view of the fleet's work (tickets per state, queues, SLA
/// points, escalations, SMS, callbacks, KPIs, workers' heartbeats) beside what the simulated
/// people did. Read in a handful of statements every refresh.
struct DemoSnapshot: Sendable {
    var tickets: [(status: String, count: Int)] = []
    var queues: [QueueStats] = []
    var sms: [String: Int] = [:]
    var slaEvents: [String: Int] = [:]
    var overdueNow = 0
    var escalations: [(trigger: String, count: Int)] = []
    var escalationsOpen = 0
    var surveys: [String: Int] = [:]
    var operatorCalls = 0
    var dispatcherWaiting = 0
    var merged = 0
    var reopened = 0
    var responseRate: Double?
    var resolutionRate: Double?
    var satisfactionRate: Double?
    var outboxDue = 0
    var timersRunning = 0
    var workersAlive: [String: Int] = [:]
    /// Completed jobs per queue.
    var completed: [String: Int] = [:]
    /// Per worker: what it has done (completed jobs of its queue, or its own loop's work).
    var processed: [String: Int] = [:]

    var totalTickets: Int { tickets.reduce(0) { $0 + $1.count } }

    static func load(client: PostgresClient, logger: Logger) async throws -> DemoSnapshot {
        var s = DemoSnapshot()
        s.tickets = try await client.all("""
            SELECT status, count(*)::int FROM hotline.tickets GROUP BY status
             ORDER BY array_position(ARRAY['received','extracted','dispatched','accepted','in_progress','feedback_given','returned',
                                           'reopened','closed','merged','cancelled'], status), status
            """, as: (String, Int).self, logger: logger).map { (status: $0.0, count: $0.1) }
        s.queues = try await JobQueue(client: client, logger: logger).stats()
        for (status, count) in try await client.all("SELECT status, count(*)::int FROM hotline.sms_outbox GROUP BY status",
                                                     as: (String, Int).self, logger: logger) {
            s.sms[status] = count
        }
        for (event, count) in try await client.all("""
            SELECT event, count(*)::int FROM hotline.ticket_events
             WHERE event IN ('sla_warning', 'sla_overdue', 'sla_severely_overdue', 'reopened', 'extracted', 'dispatched', 'awaiting_dispatcher')
             GROUP BY event
            """, as: (String, Int).self, logger: logger) {
            s.slaEvents[event] = count
        }
        s.escalations = try await client.all("""
            SELECT trigger, count(*)::int FROM hotline.escalations GROUP BY trigger ORDER BY 2 DESC, 1
            """, as: (String, Int).self, logger: logger).map { (trigger: $0.0, count: $0.1) }
        for (status, count) in try await client.all("""
            SELECT coalesce(satisfaction, status), count(*)::int FROM hotline.callback_surveys GROUP BY 1
            """, as: (String, Int).self, logger: logger) {
            s.surveys[status] = count
        }
        let row = try await client.first("""
            SELECT (SELECT count(*)::int FROM hotline.overdue_timers),
                   (SELECT count(*)::int FROM hotline.escalations WHERE state <> 'resolved'),
                   (SELECT count(*)::int FROM hotline.operator_callbacks WHERE status = 'waiting'),
                   (SELECT count(*)::int FROM hotline.dispatcher_queue WHERE status = 'waiting'),
                   (SELECT count(*)::int FROM hotline.tickets WHERE status = 'merged'),
                   -- Response: accepted by the deadline, among the leads' and co-handlers' parts whose
                   -- deadline has passed or that were acted on (a part still inside its hour is no miss yet).
                   (SELECT round(count(*) FILTER (WHERE accepted_at <= accept_due_at)::numeric
                                 / nullif(count(*) FILTER (WHERE accepted_at IS NOT NULL OR returned_at IS NOT NULL OR accept_due_at < now()), 0), 4)::float8
                      FROM hotline.assignments WHERE role IN ('lead', 'co_handler')),
                   (SELECT round(count(*) FILTER (WHERE resolved)::numeric / nullif(count(*) FILTER (WHERE resolved IS NOT NULL), 0), 4)::float8
                      FROM hotline.callback_surveys WHERE status = 'answered'),
                   (SELECT round(count(*) FILTER (WHERE satisfaction IN ('satisfied', 'basically_satisfied'))::numeric
                                 / nullif(count(*) FILTER (WHERE satisfaction IS NOT NULL), 0), 4)::float8
                      FROM hotline.callback_surveys WHERE status = 'answered'),
                   (SELECT count(*)::int FROM hotline.sms_outbox WHERE status IN ('pending', 'held') AND next_attempt_at <= now()),
                   (SELECT count(*)::int FROM hotline.sla_timers WHERE status = 'running' AND next_fire_at IS NOT NULL)
            """, as: (Int, Int, Int, Int, Int, Double?, Double?, Double?, Int, Int).self, logger: logger)
        if let row {
            (s.overdueNow, s.escalationsOpen, s.operatorCalls, s.dispatcherWaiting, s.merged) = (row.0, row.1, row.2, row.3, row.4)
            (s.responseRate, s.resolutionRate, s.satisfactionRate) = (row.5, row.6, row.7)
            (s.outboxDue, s.timersRunning) = (row.8, row.9)
        }
        s.reopened = s.slaEvents["reopened"] ?? 0
        for (kind, count) in try await client.all("""
            SELECT worker_kind, count(*)::int FROM queue.workers WHERE NOT stopping AND last_seen_at > now() - interval '30 seconds'
             GROUP BY worker_kind
            """, as: (String, Int).self, logger: logger) {
            s.workersAlive[kind] = count
        }
        for (queue, count) in try await client.all("""
            SELECT queue, count(*)::int FROM queue.finished_jobs WHERE status = 'completed' GROUP BY queue
            """, as: (String, Int).self, logger: logger) {
            s.completed[queue] = count
        }
        s.processed = s.completed
        // The two loop workers' own work: points fired and messages handed to the gateway.
        s.processed["sla-timer"] = (s.slaEvents["sla_warning"] ?? 0) + (s.slaEvents["sla_overdue"] ?? 0) + (s.slaEvents["sla_severely_overdue"] ?? 0)
        s.processed["sms-notify"] = (s.sms["sent"] ?? 0) + (s.sms["delivered"] ?? 0)
        return s
    }

    /// What each worker's number means, for the summary.
    static let processedMeaning: [String: String] = [
        "intake-extraction": "extraction jobs done", "auto-dispatch": "dispatch jobs done", "sla-timer": "deadline points fired",
        "escalation": "escalation jobs done", "sms-notify": "SMS handed to the gateway", "satisfaction-callback": "callback jobs done",
    ]
}

/// Renders a snapshot and the tally as one screen.
struct DemoScreen {
    let time: DemoTime
    let elapsed: Duration
    let snapshot: DemoSnapshot
    let tally: DemoTally.Counts
    let rate: Double

    static func percent(_ value: Double?) -> String { value.map { String(format: "%.1f %%", $0 * 100) } ?? "-" }

    func render(final: Bool = false) -> String {
        var out: [String] = []
        let s = snapshot
        out.append((final ? "Summary" : "12345 hotline demo") + String(format: " — %.0f s", elapsed.seconds)
                   + (final ? "" : ", \(rate.formatted()) complaints/s; Ctrl-C stops"))
        if time.shortened {
            out.append("DEMO TIME: deadlines shortened in this throwaway database (hotline.sla_policies): accept within \(Int(time.accept)) s, "
                       + "feedback within \(Int(time.feedback["emergency"]!))–\(Int(time.feedback["complex"]!)) s; survey right after closing")
        } else {
            out.append("Real deadlines (accept within 1 hour): no SLA warnings will show in a short run")
        }
        out.append("")
        out.append("tickets: \(s.totalTickets)  " + s.tickets.map { "\($0.status) \($0.count)" }.joined(separator: " · "))
        let channels = tally.submitted.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: " · ")
        out.append("submitted: \(channels)")
        out.append("  texts by urgency label: " + DemoChannels.mix.map { "\($0.urgency) \(tally.urgencyAsked[$0.urgency] ?? 0)" }.joined(separator: " · ")
                   + "   repeat calls \(tally.repeatCalls) (linked: \(s.merged)) · resent \(tally.resent) (same ticket back)")
        out.append("  refused: " + (tally.refused.isEmpty ? (final ? "none" : "none yet") : tally.refused.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: " · "))
                   + (tally.refusedUnexpectedly > 0 ? "   ACCEPTED WRONGLY: \(tally.refusedUnexpectedly)" : ""))
        out.append("units: " + ["accepted", "returned", "whistled", "paused", "resumed", "feedback", "closed"]
            .map { "\($0) \(tally.unit[$0] ?? 0)" }.joined(separator: " · ")
                   + " · dispatcher decisions \(tally.dispatcherDecisions) (waiting \(s.dispatcherWaiting))")
        out.append("")
        out.append(queueTable())
        out.append("")
        out.append("SLA: warnings \(s.slaEvents["sla_warning"] ?? 0) · overdue (urged) \(s.slaEvents["sla_overdue"] ?? 0) · "
                   + "severely overdue \(s.slaEvents["sla_severely_overdue"] ?? 0) · deadlines passed and still open \(s.overdueNow)")
        out.append("escalations: \(s.escalations.reduce(0) { $0 + $1.count }) (open \(s.escalationsOpen))"
                   + (s.escalations.isEmpty ? "" : "  " + s.escalations.map { "\($0.trigger) \($0.count)" }.joined(separator: " · ")))
        out.append("SMS: sent \((s.sms["sent"] ?? 0) + (s.sms["delivered"] ?? 0)) · waiting \((s.sms["pending"] ?? 0) + (s.sms["sending"] ?? 0)) · "
                   + "held \(s.sms["held"] ?? 0) · failed \(s.sms["failed"] ?? 0)")
        out.append("callbacks: surveys \(s.surveys.values.reduce(0, +)) · awaiting reply \(s.surveys["sent"] ?? 0) · satisfied \(s.surveys["satisfied"] ?? 0) · "
                   + "basically \(s.surveys["basically_satisfied"] ?? 0) · unsatisfied \(s.surveys["unsatisfied"] ?? 0) · "
                   + "to operator \(s.surveys["operator"] ?? 0) · reopened \(s.reopened)")
        out.append("  citizens replied: " + (tally.replies.isEmpty ? (final ? "none" : "none yet") : tally.replies.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: " · ")))
        out.append("KPIs: response rate \(Self.percent(s.responseRate)) · resolution rate \(Self.percent(s.resolutionRate)) · "
                   + "satisfaction rate \(Self.percent(s.satisfactionRate))")
        if !final {
            out.append("workers alive: " + DemoFleet.workers.map { "\($0) \(s.workersAlive[$0] ?? 0)" }.joined(separator: " · "))
        }
        return out.joined(separator: "\n")
    }

    /// Every worker's queue (empty ones too), any other queue with jobs, and the two loops'
    /// tables (what is due in the outbox, how many deadlines are being timed).
    func queueTable() -> String {
        let s = snapshot
        let loops = ["hotline.sms_outbox", "hotline.sla_timers"]
        let byName = Dictionary(s.queues.map { ($0.queue, $0) }, uniquingKeysWith: { first, _ in first })
        let names = DemoFleet.workers + s.queues.map(\.queue).filter { !DemoFleet.workers.contains($0) && !loops.contains($0) }
        var rows: [[String]] = names.map { name in
            guard let q = byName[name] else { return [name, "0", "0", "0", "0", "-", "\(s.completed[name] ?? 0)", ""] }
            return [q.queue, "\(q.available + q.due)", "\(q.scheduled)", "\(q.running)", "\(q.dead)",
                    q.oldestReadyAgeSeconds.map { String(format: "%.1f", $0) } ?? "-", "\(s.completed[q.queue] ?? 0)",
                    q.pause == nil ? "" : "PAUSED"]
        }
        rows.append(["hotline.sms_outbox", "\(s.outboxDue)", "\(s.sms["held"] ?? 0)", "\(s.sms["sending"] ?? 0)", "\(s.sms["failed"] ?? 0)", "-",
                     "\(s.processed["sms-notify"] ?? 0)", byName[loops[0]]?.pause == nil ? "" : "PAUSED"])
        rows.append(["hotline.sla_timers", "-", "\(s.timersRunning)", "-", "-", "-", "\(s.processed["sla-timer"] ?? 0)",
                     byName[loops[1]]?.pause == nil ? "" : "PAUSED"])
        return Table(["queue", "ready", "scheduled", "running", "dead", "oldest ready (s)", "done", "state"], rows).render()
            + "\n(sms-notify and sla-timer do their work in the two loops below; their queues carry only pings)"
    }

    /// One line for logs and scripts (no terminal).
    func line() -> String {
        let s = snapshot
        return String(format: "[%4.0f s] ", elapsed.seconds)
            + "tickets \(s.totalTickets) (closed \(s.tickets.first { $0.status == "closed" }?.count ?? 0)) · "
            + "ready jobs \(s.queues.reduce(0) { $0 + $1.available + $1.due }) · warnings \(s.slaEvents["sla_warning"] ?? 0) · "
            + "overdue \(s.slaEvents["sla_overdue"] ?? 0) · escalations \(s.escalations.reduce(0) { $0 + $1.count }) · "
            + "SMS sent \((s.sms["sent"] ?? 0) + (s.sms["delivered"] ?? 0)) · surveys answered \(s.surveys.filter { ["satisfied", "basically_satisfied", "unsatisfied"].contains($0.key) }.values.reduce(0, +))"
    }
}
