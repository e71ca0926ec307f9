import Foundation
import GatewaySimulator
public import Logging
public import PostgresNIO
import Shared

/// The end-state checks, read from the database after the fleet has drained (and from the
/// gateway simulator, which knows what the provider really received).
extension FaultSuite {
    /// The end state's database invariants over tickets whose external id starts with `prefix`
    /// (and every job, SMS, timer and escalation): each as (what, offending rows, a sample).
    /// Only zero offending rows is good. Run them on a drained fleet.
    public static func databaseInvariants(client: PostgresClient, prefix p: String, logger: Logger) async throws -> [(String, Int, String)] {
        precondition(p.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }, "prefix goes into SQL text")
        // Each query lists offending rows as one `sample` text.
        let queries: [(String, String)] = [
            ("a ticket is stuck before dispatch", """
                SELECT t.id || ' ' || t.status AS sample FROM hotline.tickets t
                 WHERE t.external_id LIKE '\(p)%' AND t.status IN ('received', 'extracted', 'returned', 'reopened')
                   AND NOT EXISTS (SELECT 1 FROM hotline.dispatcher_queue q WHERE q.ticket_id = t.id AND q.status = 'waiting')
                """),
            ("a ticket's hash chain does not verify", """
                SELECT t.id || ': ' || coalesce(v.problem, '?') AS sample FROM hotline.tickets t, LATERAL hotline.verify_ticket_chain(t.id) v
                 WHERE NOT v.ok
                """),
            ("a ticket's history does not start with its receipt", """
                SELECT t.id::text AS sample FROM hotline.tickets t
                 WHERE NOT EXISTS (SELECT 1 FROM hotline.ticket_events e WHERE e.ticket_id = t.id AND e.seq = 1 AND e.event = 'received')
                """),
            ("a ticket was extracted more than once", """
                SELECT ticket_id || ' ×' || count(*) AS sample FROM hotline.ticket_events WHERE event = 'extracted'
                 GROUP BY ticket_id HAVING count(*) > 1
                """),
            ("a ticket past extraction has no extraction event", """
                SELECT t.id::text AS sample FROM hotline.tickets t
                 WHERE t.status NOT IN ('received', 'cancelled')
                   AND NOT EXISTS (SELECT 1 FROM hotline.ticket_events e WHERE e.ticket_id = t.id AND e.event = 'extracted')
                """),
            ("one dispatch round was written twice", """
                SELECT ticket_id || ' round ' || (details->>'round') AS sample FROM hotline.ticket_events WHERE event = 'dispatched'
                 GROUP BY ticket_id, details->>'round' HAVING count(*) > 1
                """),
            ("a dispatched round has no assignments", """
                SELECT e.ticket_id || ' round ' || (e.details->>'round') AS sample FROM hotline.ticket_events e
                 WHERE e.event = 'dispatched'
                   AND NOT EXISTS (SELECT 1 FROM hotline.assignments a WHERE a.ticket_id = e.ticket_id AND a.round = (e.details->>'round')::int)
                """),
            ("a unit was assigned without its notification SMS", """
                SELECT a.ticket_id || ' ' || u.code || ' ' || a.role AS sample FROM hotline.assignments a JOIN hotline.handling_units u ON u.id = a.unit_id
                 WHERE a.role IN ('lead', 'co_handler', 'cc') AND jsonb_array_length(u.contacts) > 0
                   AND NOT EXISTS (SELECT 1 FROM hotline.sms_outbox o WHERE o.ticket_id = a.ticket_id AND o.unit_id = a.unit_id
                                      AND o.template = 'dispatch.' || a.role)
                """),
            ("a job is left running, waiting or dead", """
                SELECT id || ' ' || queue || ' ' || kind || ' ' || status || ' ' || left(errors::text, 300) AS sample FROM queue.jobs
                 WHERE status IN ('running', 'available', 'dead') OR (status = 'scheduled' AND run_at < now())
                """),
            ("an SMS is not in a final state", """
                SELECT id || ' ' || status || ' ' || template || ' ' || coalesce(last_error, '') AS sample FROM hotline.sms_outbox
                 WHERE status NOT IN ('sent', 'delivered', 'failed', 'cancelled')
                """),
            ("an SMS failed without a reason", """
                SELECT id::text AS sample FROM hotline.sms_outbox WHERE status = 'failed' AND coalesce(last_error, '') = ''
                """),
            ("a timer point fired twice", """
                SELECT (details->>'timer_id') || ' at ' || (details->>'point') || ' ×' || count(*) AS sample FROM hotline.ticket_events
                 WHERE event IN ('sla_warning', 'sla_overdue', 'sla_severely_overdue')
                 GROUP BY details->>'timer_id', details->>'point' HAVING count(*) > 1
                """),
            ("a timer's fired points and its events disagree", """
                SELECT s.id || ': next_point ' || s.next_point || ', events ' || count(e.id) AS sample FROM hotline.sla_timers s
                  LEFT JOIN hotline.ticket_events e ON e.ticket_id = s.ticket_id AND (e.details->>'timer_id')::bigint = s.id
                       AND e.event IN ('sla_warning', 'sla_overdue', 'sla_severely_overdue')
                 GROUP BY s.id, s.next_point HAVING count(e.id) <> s.next_point - 1
                """),
            ("a due timer point never fired", """
                SELECT id || ' due ' || next_fire_at AS sample FROM hotline.sla_timers
                 WHERE status = 'running' AND next_fire_at < now() - interval '10 seconds'
                """),
            ("an escalation is open twice", """
                SELECT ticket_id || ' ' || trigger || ' L' || level AS sample FROM hotline.escalations WHERE state <> 'resolved'
                 GROUP BY ticket_id, trigger, level HAVING count(*) > 1
                """),
            ("an escalation and its events disagree", """
                SELECT x.id::text AS sample FROM hotline.escalations x
                 WHERE (SELECT count(*) FROM hotline.ticket_events e WHERE e.ticket_id = x.ticket_id AND e.event = 'escalated'
                           AND (e.details->>'escalation_id')::bigint = x.id) <> 1
                """),
        ]
        var found: [(String, Int, String)] = []
        for (what, sql) in queries {
            let row = try await client.first(PostgresQuery(unsafeSQL: "SELECT count(*)::int, coalesce(string_agg(sample, '; ') FILTER (WHERE n <= 3), '') FROM (SELECT sample, row_number() OVER () AS n FROM (\(sql)) v) w"),
                                             as: (Int, String).self, logger: logger)
            found.append((what, row?.0 ?? 0, row?.1 ?? ""))
        }
        return found
    }
}

extension FaultRun {
    func checkInvariants() async throws {
        let found = try await FaultSuite.databaseInvariants(client: client, prefix: prefix, logger: logger)
        for (what, count, sample) in found {
            ledger.check(count == 0, "\(what): \(count) (e.g. \(sample))")
        }
        try await checkSubmissions()
        try await checkActions()
        try await checkSMSAgainstGateway()
        if scenario == .burst { try await checkRepeatCalls() }
    }

    /// Every acknowledged complaint is there exactly once, as the channel was told; every bad
    /// one was refused with a code and left nothing behind.
    private func checkSubmissions() async throws {
        let state = ledger.snapshot
        let rows = try await client.all("SELECT external_id, id FROM hotline.tickets WHERE external_id LIKE \(prefix + "%")",
                                        as: (String, Int64).self, logger: logger)
        var stored: [String: Int64] = [:]
        for (external, id) in rows { stored[external] = id }
        for (external, id) in state.acknowledged {
            ledger.check(stored[external] == id, "ticket \(external) acknowledged as \(id) but stored as \(stored[external].map(String.init) ?? "nothing")")
        }
        ledger.check(state.unanswered.isEmpty, "submissions never answered: \(state.unanswered.prefix(5))")
        for (external, code) in state.bad {
            ledger.check(code != nil, "bad submission \(external) was accepted")
            ledger.check(stored[external] == nil, "bad submission \(external) left a ticket")
        }
        let extra = Set(stored.keys).subtracting(state.acknowledged.keys).subtracting(state.bad.keys)
        ledger.check(extra.isEmpty, "tickets no channel submitted: \(extra.prefix(5))")
    }

    /// What units and citizens were told had worked is in the database.
    private func checkActions() async throws {
        let state = ledger.snapshot
        if !state.acceptedAssignments.isEmpty {
            let ids = Array(state.acceptedAssignments)
            let notAccepted = try await client.first("""
                SELECT count(*)::int FROM hotline.assignments WHERE id = ANY(\(ids)) AND accepted_at IS NULL
                """, as: Int.self, logger: logger) ?? 0
            ledger.check(notAccepted == 0, "\(notAccepted) accepted assignments have no acceptance")
        }
        if !state.closedTickets.isEmpty {
            let ids = Array(state.closedTickets)
            let notClosed = try await client.first("""
                SELECT count(*)::int FROM unnest(\(ids)::bigint[]) c(id)
                 WHERE NOT EXISTS (SELECT 1 FROM hotline.ticket_events e WHERE e.ticket_id = c.id AND e.event = 'closed')
                """, as: Int.self, logger: logger) ?? 0
            ledger.check(notClosed == 0, "\(notClosed) tickets whose close request committed have no close event")
            let noSurvey = try await client.first("""
                SELECT count(*)::int FROM unnest(\(ids)::bigint[]) c(id)
                 WHERE NOT EXISTS (SELECT 1 FROM hotline.callback_surveys s WHERE s.ticket_id = c.id)
                """, as: Int.self, logger: logger) ?? 0
            ledger.check(noSurvey == 0, "\(noSurvey) closed tickets got no satisfaction callback")
        }
        if !state.repliedSurveys.isEmpty {
            let ids = Array(state.repliedSurveys.keys)
            let unread = try await client.first("""
                SELECT count(*)::int FROM hotline.callback_surveys WHERE id = ANY(\(ids)) AND status = 'sent'
                """, as: Int.self, logger: logger) ?? 0
            ledger.check(unread == 0, "\(unread) survey replies were never read")
        }
    }

    /// The provider's side: each message recorded sent reached the provider, and a message it
    /// received more than once always came with the same idempotency key (a provider that
    /// honours the key delivers it once).
    private func checkSMSAgainstGateway() async throws {
        var accepted: [String: [String?]] = [:]
        for request in gateway.received where (200..<300).contains(request.status) {
            accepted[request.reference, default: []].append(request.idempotencyKey)
        }
        let sent = try await client.all("SELECT id FROM hotline.sms_outbox WHERE status IN ('sent', 'delivered')", as: Int64.self, logger: logger)
        let missing = sent.filter { accepted["hotline-\($0)"] == nil }
        ledger.check(missing.isEmpty, "\(missing.count) SMS recorded sent that the provider never accepted (e.g. \(missing.prefix(3)))")
        let repeated = accepted.filter { $0.value.count > 1 }
        let differentKeys = repeated.filter { Set($0.value.map { $0 ?? "" }).count > 1 || $0.value.contains { $0 == nil } }
        ledger.check(differentKeys.isEmpty, "SMS sent again under another idempotency key: \(differentKeys.keys.prefix(3))")
        if !repeated.isEmpty {
            ledger.update { $0.notes.append("\(repeated.count) of \(accepted.count) messages reached the provider more than once, each time under its one idempotency key (resends after a lost or garbled reply)") }
        }
        let outcomes = try await client.all("SELECT status, count(*)::int FROM hotline.sms_outbox GROUP BY status ORDER BY status",
                                            as: (String, Int).self, logger: logger)
        ledger.update { $0.notes.append("SMS by final state: " + outcomes.map { "\($0.0) \($0.1)" }.joined(separator: ", ")) }
    }

    /// In a burst, a caller who calls again about the same open matter is linked to it, not
    /// dispatched again.
    private func checkRepeatCalls() async throws {
        let callers = ledger.snapshot.repeatCallers.filter { $0.value.count > 1 }
        // A later call extracted while an earlier ticket of the same caller was still open must
        // be linked to it; once the earlier one is closed, a new call is a new matter.
        let dispatchedTwice = try await client.first("""
            SELECT count(*)::int FROM hotline.tickets b JOIN hotline.tickets a
                ON a.caller_phone = b.caller_phone AND a.id < b.id AND a.merged_into IS NULL
             WHERE b.external_id LIKE \(prefix + "%") AND a.external_id LIKE \(prefix + "%") AND b.merged_into IS NULL
               AND b.caller_phone = ANY(\(Array(callers.keys)))
               AND NOT EXISTS (SELECT 1 FROM hotline.ticket_events e, hotline.ticket_events x
                                WHERE e.ticket_id = a.id AND e.event = 'closed' AND x.ticket_id = b.id AND x.event = 'extracted' AND e.at < x.at)
            """, as: Int.self, logger: logger) ?? 0
        ledger.check(dispatchedTwice == 0, "\(dispatchedTwice) repeat calls about a caller's open matter were dispatched again instead of linked")
        let totals = try await client.first("""
            SELECT count(*)::int, count(*) FILTER (WHERE merged_into IS NOT NULL)::int,
                   (SELECT count(*)::int FROM hotline.ticket_events e JOIN hotline.tickets t ON t.id = e.ticket_id
                     WHERE e.event = 'dispatched' AND t.external_id LIKE \(prefix + "%"))
              FROM hotline.tickets WHERE external_id LIKE \(prefix + "%")
            """, as: (Int, Int, Int).self, logger: logger) ?? (0, 0, 0)
        ledger.update {
            $0.notes.append("\(totals.0) tickets, \(totals.1) linked as repeat calls, \(totals.2) dispatch rounds; \(callers.count) callers called more than once")
        }
    }

    /// Rows the checks looked at, for the report.
    func rowsChecked() async throws -> Int {
        try await client.first("""
            SELECT ((SELECT count(*) FROM hotline.tickets) + (SELECT count(*) FROM hotline.ticket_events)
                  + (SELECT count(*) FROM hotline.sms_outbox) + (SELECT count(*) FROM hotline.sla_timers)
                  + (SELECT count(*) FROM hotline.assignments) + (SELECT count(*) FROM hotline.escalations)
                  + (SELECT count(*) FROM queue.jobs))::int
            """, as: Int.self, logger: logger) ?? 0
    }
}
