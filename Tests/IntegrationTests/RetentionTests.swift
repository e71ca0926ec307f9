import Foundation
import Logging
import PostgresNIO
@testable import SLATimer
import Shared
import Testing

/// Retention on the real database (`sql/0020_retention.sql`): which tickets' events move to the
/// archive and which stay, the chain across both tables, the append-only guards, what pruning
/// removes and keeps, finished-job pruning in batches, the retention lock, the roles and
/// `hotline retain`. Time is driven through the functions' p_now; a ticket that "ended long ago"
/// is one whose recorded end was moved back, as a history seeded for the test.
@Suite("Retention")
struct RetentionTests {
    static let logger = TestDatabase.logger

    /// A ticket handled by XA-CGJ and closed (its events: received … closed).
    static func closed(_ client: PostgresClient, _ externalID: String, phone: String? = nil) async throws -> Int64 {
        try await CallbackTests.closed(client, externalID, phone: phone)
    }

    /// Moves a ticket's end (and closing) `days` back, as if it had ended then.
    static func endedDaysAgo(_ client: PostgresClient, _ tickets: [Int64], _ days: Int) async throws {
        try await client.execute("""
            UPDATE hotline.tickets SET ended_at = ended_at - make_interval(days => \(days)::int), closed_at = closed_at - make_interval(days => \(days)::int)
             WHERE id = ANY (\(tickets)::bigint[])
            """, logger: logger)
    }

    /// Every column of a ticket's events in one table, one line per event in seq order.
    static func rows(_ client: PostgresClient, _ table: String, _ tickets: [Int64]) async throws -> [String] {
        try await client.all(PostgresQuery(unsafeSQL: """
            SELECT concat_ws('|', ticket_id, seq, id, extract(epoch FROM at), actor_kind, actor, event, details::text,
                             coalesce(encode(prev_hash, 'hex'), '-'), encode(hash, 'hex'))
              FROM \(table) WHERE ticket_id IN (\(tickets.map(String.init).joined(separator: ","))) ORDER BY ticket_id, seq
            """), as: String.self, logger: logger)
    }

    static func archive(_ client: some SQLRunner, at now: String = "now()", limit: Int = 5000) async throws -> (tickets: Int, events: Int) {
        let row = try await client.first(PostgresQuery(unsafeSQL: "SELECT tickets, events FROM hotline.archive_ended_tickets(\(now), \(limit))"),
                                         as: (Int, Int).self, logger: logger)
        return (row?.0 ?? -1, row?.1 ?? -1)
    }

    /// (ok, events checked) of every ticket's chain that does not verify, and how many tickets were checked.
    static func brokenChains(_ client: PostgresClient) async throws -> (broken: [String], checked: Int) {
        let broken = try await client.all("""
            SELECT t.id || ': ' || coalesce(v.problem, '') || ' (checked ' || v.events_checked || ' of ' || coalesce(h.event_count, 0) || ')'
              FROM hotline.tickets t CROSS JOIN LATERAL hotline.verify_ticket_chain(t.id) v
              LEFT JOIN hotline.ticket_chain_heads h ON h.ticket_id = t.id
             WHERE NOT v.ok OR v.events_checked <> coalesce(h.event_count, 0)
            """, as: String.self, logger: logger)
        return (broken, try await client.count("SELECT count(*)::int FROM hotline.tickets"))
    }

    static func hotCount(_ client: PostgresClient, _ ticket: Int64) async throws -> Int {
        try await client.count("SELECT count(*)::int FROM hotline.ticket_events WHERE ticket_id = \(ticket)")
    }

    static func archivedCount(_ client: PostgresClient, _ ticket: Int64) async throws -> Int {
        try await client.count("SELECT count(*)::int FROM hotline.ticket_events_archive WHERE ticket_id = \(ticket)")
    }

    struct Placement: Equatable, CustomStringConvertible {
        var hot: Int
        var archived: Int
        var description: String { "\(hot) in the hot table, \(archived) archived" }
    }

    /// Where a ticket's events are.
    static func placement(_ client: PostgresClient, _ ticket: Int64) async throws -> Placement {
        Placement(hot: try await hotCount(client, ticket), archived: try await archivedCount(client, ticket))
    }

    // MARK: archiving

    @Test func exactlyTheLongEndedTicketsMoveAndEveryChainStillVerifies() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let longAgo = try await Self.closed(client, "ret-long-ago")
                let recently = try await Self.closed(client, "ret-recently")
                let open = try await DispatchTests.dispatched(client, "ret-open")
                let repeatCall = try await DispatchTests.extracted(client, "ret-repeat")
                try await client.execute("SELECT hotline.merge_repeat_call(\(repeatCall), \(open), 'person', 'test')", logger: db.logger)
                let locked = try await Self.closed(client, "ret-locked")
                // Reopened: closed long ago, then the citizen was unsatisfied (a new round).
                let reopened = try await Self.closed(client, "ret-reopened", phone: "13900000071")
                try await Self.endedDaysAgo(client, [longAgo, repeatCall, locked, reopened], 200)
                let survey = try #require(try await client.first("SELECT hotline.send_callback_survey(\(reopened), 1)", as: Int64.self, logger: db.logger))
                _ = try await client.first("SELECT hotline.record_callback(\(survey), false, 'unsatisfied', '没解决', 'test')", as: Int.self, logger: db.logger)
                #expect(try await DispatchTests.status(client, reopened) == "dispatched")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.tickets WHERE id = \(reopened) AND ended_at IS NULL") == 1,
                        "reopening clears the end")

                let movedBefore = try await Self.rows(client, "hotline.ticket_events", [longAgo, repeatCall])
                let stayBefore = try await Self.rows(client, "hotline.ticket_events", [recently, open, locked, reopened])
                #expect(movedBefore.count >= 8 && stayBefore.count >= 20)

                // A transaction that holds the ticket right now (reopening or acting on it): skipped, not waited for.
                let first = try await Admin.withConnection(on: db.url) { holder in
                    try await holder.execute("BEGIN", logger: db.logger)
                    _ = try await holder.first("SELECT hotline.lock_tickets(ARRAY[\(locked)]::bigint[])", as: Int.self, logger: db.logger)
                    let first = try await Self.archive(client)
                    try await holder.execute("ROLLBACK", logger: db.logger)
                    return first
                }
                #expect(first.tickets == 2 && first.events == movedBefore.count, "\(first)")
                #expect(try await Self.rows(client, "hotline.ticket_events_archive", [longAgo, repeatCall]) == movedBefore,
                        "copied verbatim, hashes included")
                #expect(try await Self.rows(client, "hotline.ticket_events", [longAgo, repeatCall]).isEmpty)
                #expect(try await Self.rows(client, "hotline.ticket_events", [recently, open, locked, reopened]) == stayBefore)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events_archive") == movedBefore.count)
                let partition = try await client.first("""
                    SELECT DISTINCT a.tableoid::regclass::text = 'hotline.ticket_events_archive_' || to_char(t.ended_at AT TIME ZONE 'Asia/Shanghai', 'YYYY_MM')
                      FROM hotline.ticket_events_archive a JOIN hotline.tickets t ON t.id = a.ticket_id WHERE a.ticket_id = \(longAgo)
                    """, as: Bool.self, logger: db.logger)
                #expect(partition == true, "the partition of the local month the ticket ended")
                var chains = try await Self.brokenChains(client)
                #expect(chains.broken.isEmpty && chains.checked == 6, "\(chains)")

                // The lock is gone: the skipped ticket goes now; nothing else is due.
                let lockedEvents = try await Self.hotCount(client, locked)
                #expect(try await Self.archive(client) == (1, lockedEvents))
                #expect(try await Self.placement(client, locked) == Placement(hot: 0, archived: lockedEvents))
                #expect(try await Self.archive(client) == (0, 0))

                // A later event on an archived ticket continues its chain in the hot table…
                let archivedEvents = try await Self.archivedCount(client, longAgo)
                let seq = try await client.count("SELECT hotline.append_event(\(longAgo), 'person', '档案室', 'note_added', '{\"note\": \"补充材料\"}')")
                #expect(seq == archivedEvents + 1)
                #expect(try await client.count("SELECT count(*)::int FROM hotline.tickets WHERE id = \(longAgo) AND NOT events_archived") == 1)
                let whole = try await client.all("SELECT seq FROM hotline.ticket_event_log WHERE ticket_id = \(longAgo) ORDER BY seq",
                                                 as: Int.self, logger: db.logger)
                #expect(whole == Array(1...seq), "the log reads both tables")
                chains = try await Self.brokenChains(client)
                #expect(chains.broken.isEmpty, "\(chains)")
                // … and the next run moves it after the rest, into the same month.
                #expect(try await Self.archive(client) == (1, 1))
                #expect(try await Self.placement(client, longAgo) == Placement(hot: 0, archived: seq))
                #expect(try await client.count("""
                    SELECT count(DISTINCT tableoid)::int FROM hotline.ticket_events_archive WHERE ticket_id = \(longAgo)
                    """) == 1)

                // Time passes: 91 days on, the recently closed ticket is due; the open and the reopened never are.
                let later = try await client.first("SELECT now() + interval '91 days'", as: Date.self, logger: db.logger)
                let preview = try await Retention.preview(client: client, logger: db.logger, now: later)
                let recentEvents = try await Self.hotCount(client, recently)
                #expect(preview.first { $0.what == "archive.tickets" }?.count == 1)
                #expect(preview.first { $0.what == "archive.events" }?.count == recentEvents)
                #expect(try await Self.archive(client, at: "now() + interval '91 days'") == (1, recentEvents))
                #expect(try await Self.archive(client, at: "now() + interval '1000 days'") == (0, 0))
                for stays in [open, reopened] {
                    let placed = try await Self.placement(client, stays)
                    #expect(placed.hot > 0 && placed.archived == 0, "\(placed)")
                }
                chains = try await Self.brokenChains(client)
                #expect(chains.broken.isEmpty, "\(chains)")
            }
        }
    }

    @Test func anArchiveCallMovesAboutItsLimitOfEventsInWholeTickets() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                var tickets: [Int64] = []
                for n in 0..<5 { tickets.append(try await Self.closed(client, "ret-batch-\(n)")) }
                try await Self.endedDaysAgo(client, tickets, 100)
                let perTicket = try await Self.hotCount(client, tickets[0])
                #expect(perTicket > 2)
                // A limit of two tickets' events takes two; a limit below one ticket's still takes one.
                #expect(try await Self.archive(client, limit: perTicket * 2 + 1) == (2, perTicket * 2))
                #expect(try await Self.archive(client, limit: 1) == (1, perTicket))
                let round = try await Retention(archiveBatch: perTicket, pruneBatch: 100).round(client: client, logger: db.logger)
                #expect(round.archivedTickets == 2 && round.archivedEvents == perTicket * 2 && round.complete, "\(round)")
                #expect(round.transactions == 4, "two archive batches, the empty one that ends the phase, one prune")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.ticket_events WHERE ticket_id = ANY (\(tickets)::bigint[])") == 0)
                #expect(try await Self.brokenChains(client).broken.isEmpty)
            }
        }
    }

    @Test func theEventLogStaysAppendOnly() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let archived = try await Self.closed(client, "ret-guard-archived")
                let ended = try await Self.closed(client, "ret-guard-ended")
                let open = try await DispatchTests.dispatched(client, "ret-guard-open")
                try await Self.endedDaysAgo(client, [archived, ended], 120)
                #expect(try await Self.archive(client, limit: 1).tickets == 1)
                #expect(try await Self.hotCount(client, archived) == 0, "the one that ended first went first")
                let footprint = "SELECT (SELECT count(*) FROM hotline.ticket_events) + (SELECT count(*) FROM hotline.ticket_events_archive)"

                try await expectRefused(client, "DELETE FROM hotline.ticket_events WHERE ticket_id = \(open)", setup: false,
                                        code: "HL021", what: "a plain delete", footprint: footprint)
                try await expectRefused(client, """
                    DO $$ BEGIN PERFORM set_config('hotline.archiving', 'on', true); DELETE FROM hotline.ticket_events WHERE ticket_id = \(ended); END $$
                    """, setup: false, code: "HL021", what: "a delete with the archiver's flag but no copy in the archive", footprint: footprint)
                try await expectRefused(client, """
                    DO $$ BEGIN
                        PERFORM hotline.ensure_archive_partition(hotline.archive_month(ended_at)) FROM hotline.tickets WHERE id = \(ended);
                        INSERT INTO hotline.ticket_events_archive
                        SELECT e.id, e.ticket_id, e.seq, e.at, e.actor_kind, e.actor, e.event, e.details || '{"forged": true}', e.prev_hash, e.hash,
                               hotline.archive_month(t.ended_at), now()
                          FROM hotline.ticket_events e JOIN hotline.tickets t ON t.id = e.ticket_id WHERE e.ticket_id = \(ended);
                        PERFORM set_config('hotline.archiving', 'on', true);
                        DELETE FROM hotline.ticket_events WHERE ticket_id = \(ended);
                    END $$
                    """, setup: false, code: "HL021", what: "a delete whose archive copy differs", footprint: footprint)
                try await expectRefused(client, "UPDATE hotline.ticket_events SET actor = 'me' WHERE ticket_id = \(open)", setup: false,
                                        code: "HL021", what: "an update", footprint: footprint)
                try await expectRefused(client, "TRUNCATE hotline.ticket_events CASCADE", setup: false, code: "HL021", what: "a truncate", footprint: footprint)
                let partition = try #require(try await client.first("""
                    SELECT DISTINCT tableoid::regclass::text FROM hotline.ticket_events_archive WHERE ticket_id = \(archived)
                    """, as: String.self, logger: db.logger))
                for statement in ["DELETE FROM hotline.ticket_events_archive WHERE ticket_id = \(archived)",
                                  "UPDATE hotline.ticket_events_archive SET actor = 'me' WHERE ticket_id = \(archived)",
                                  "DELETE FROM \(partition)", "TRUNCATE hotline.ticket_events_archive", "TRUNCATE \(partition)"] {
                    try await expectRefused(client, statement, setup: false, code: "HL021",
                                            what: "the archive: \(statement)", footprint: footprint)
                }
                #expect(try await Self.brokenChains(client).broken.isEmpty)
            }
        }
    }

    // MARK: pruning

    @Test func pruningRemovesExactlyTheOldRowsInAFinalState() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await client.execute("""
                    INSERT INTO hotline.sms_outbox (phone, template, variables, status, created_at, next_attempt_at, sent_at, delivered_at, dedupe_key)
                    SELECT '1390000' || lpad(n::text, 4, '0'), 'escalation.opened', '{"trigger": "t", "level": "1", "ticket_no": "1"}', s,
                           now() - make_interval(days => age), now() - make_interval(days => touched),
                           CASE WHEN s IN ('sent', 'delivered') THEN now() - make_interval(days => touched) END,
                           CASE WHEN s = 'delivered' THEN now() - make_interval(days => touched) END, key
                      FROM (VALUES (1, 'old-sent', 'sent', 200, 200), (2, 'old-delivered', 'delivered', 200, 199), (3, 'old-failed', 'failed', 200, 200),
                                   (4, 'old-cancelled', 'cancelled', 181, 181), (5, 'old-pending', 'pending', 200, 200), (6, 'old-held', 'held', 200, 200),
                                   (7, 'old-unknown', 'unknown', 200, 200), (8, 'old-sending', 'sending', 200, 200),
                                   (9, 'young-sent', 'sent', 179, 179), (10, 'old-failed-resent-lately', 'failed', 200, 5)) v(n, key, s, age, touched)
                    """, logger: db.logger)
                try await client.execute("""
                    INSERT INTO hotline.sms_inbound (phone, body, received_at, status)
                    VALUES ('13900000001', 'old-read', now() - interval '200 days', 'read'), ('13900000002', 'old-unmatched', now() - interval '181 days', 'unmatched'),
                           ('13900000003', 'old-new', now() - interval '200 days', 'new'), ('13900000004', 'young-read', now() - interval '10 days', 'read')
                    """, logger: db.logger)
                try await client.execute("""
                    INSERT INTO hotline.sms_receipts (provider_message_id, status, received_at, matched)
                    VALUES ('old-applied', 'delivered', now() - interval '8 days', true), ('young-applied', 'delivered', now() - interval '3 days', true),
                           ('young-unmatched', 'failed', now() - interval '10 days', false), ('old-unmatched', 'delivered', now() - interval '200 days', false)
                    """, logger: db.logger)
                try await client.execute("""
                    INSERT INTO hotline.sms_citizen_day (phone, day, sent)
                    SELECT '1390000000' || d, (now() AT TIME ZONE 'Asia/Shanghai')::date - d, 3 FROM unnest(ARRAY[0, 1, 2, 30]) d
                    """, logger: db.logger)
                try await client.execute("""
                    INSERT INTO queue.workers (owner, worker_kind, queues, host, pid, last_seen_at)
                    VALUES ('gone', 'sla-timer', '{sla-timer}', 'h', 1, now() - interval '8 days'), ('quiet', 'sla-timer', '{sla-timer}', 'h', 2, now() - interval '6 days')
                    """, logger: db.logger)
                let expected = ["sms_outbox": 4, "sms_inbound": 2, "sms_receipts": 2, "sms_citizen_day": 2, "queue.workers": 1]

                let preview = try await Retention.preview(client: client, logger: db.logger)
                #expect(Dictionary(uniqueKeysWithValues: preview.filter { !$0.what.hasPrefix("archive.") }.map { ($0.what, $0.count) }) == expected,
                        "the dry run counts what the run removes")
                let removed = try await client.all("SELECT what, removed FROM hotline.prune_operational(now(), 10000)", as: (String, Int).self, logger: db.logger)
                #expect(Dictionary(uniqueKeysWithValues: removed) == expected)

                #expect(try await client.all("SELECT dedupe_key FROM hotline.sms_outbox ORDER BY dedupe_key", as: String.self, logger: db.logger)
                        == ["old-failed-resent-lately", "old-held", "old-pending", "old-sending", "old-unknown", "young-sent"])
                #expect(try await client.all("SELECT body FROM hotline.sms_inbound ORDER BY body", as: String.self, logger: db.logger) == ["old-new", "young-read"])
                #expect(try await client.all("SELECT provider_message_id FROM hotline.sms_receipts ORDER BY 1", as: String.self, logger: db.logger)
                        == ["young-applied", "young-unmatched"])
                #expect(try await client.all("SELECT phone FROM hotline.sms_citizen_day ORDER BY 1", as: String.self, logger: db.logger)
                        == ["13900000000", "13900000001"], "today's and yesterday's counts stay")
                #expect(try await client.all("SELECT owner FROM queue.workers", as: String.self, logger: db.logger) == ["quiet"])
                #expect(try await client.all("SELECT what, removed FROM hotline.prune_operational(now(), 10000)", as: (String, Int).self, logger: db.logger)
                        .allSatisfy { $0.1 == 0 }, "a second run finds nothing")
                // What stays is still read as before.
                #expect(try await client.count("SELECT count(*)::int FROM hotline.unit_monthly_kpis") >= 0)
                #expect(try await client.count("SELECT (hotline.sms_outlook()).unknown") == 1)

                // Many rows: a round prunes in batches until none is left.
                try await client.execute("""
                    INSERT INTO hotline.sms_outbox (phone, template, variables, status, created_at, next_attempt_at, sent_at)
                    SELECT '13900001234', 'escalation.opened', '{"trigger": "t", "level": "1", "ticket_no": "1"}', 'sent',
                           now() - interval '300 days', now() - interval '300 days', now() - interval '300 days'
                      FROM generate_series(1, 25)
                    """, logger: db.logger)
                let round = try await Retention(archiveBatch: 100, pruneBatch: 10).round(client: client, logger: db.logger)
                #expect(round.pruned["sms_outbox"] == 25 && round.prunedTotal == 25 && round.complete, "\(round)")
                #expect(round.transactions == 1 + 3, "one archive look, prune batches of 10, 10 and 5")
                #expect(try await client.count("SELECT count(*)::int FROM hotline.sms_outbox") == 6)
            }
        }
    }

    @Test func finishedJobPruningRemovesEveryOldRowInSeveralBatches() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                try await client.execute("""
                    INSERT INTO queue.finished_jobs (id, queue, kind, payload, status, priority, attempt, max_attempts, created_at, finished_at, errors)
                    SELECT g, 'p', 'k', '{}', 'completed', 0, 1, 20, now() - interval '30 days',
                           now() - CASE WHEN g <= 2500 THEN interval '8 days' ELSE interval '6 days' END, '[]'
                      FROM generate_series(1, 2800) g
                    """, logger: db.logger)
                let queue = JobQueue(client: client, logger: db.logger)
                let week: Duration = .seconds(7 * 86_400)
                let bounded = try await queue.pruneFinished(olderThan: week, batch: 1000, maxBatches: 2)
                #expect(bounded == JobQueue.Pruned(removed: 2000, batches: 2, complete: false), "a run stops at its bound")
                let rest = try await queue.pruneFinished(olderThan: week, batch: 200, maxBatches: 100)
                #expect(rest == JobQueue.Pruned(removed: 500, batches: 3, complete: true), "200 + 200 + 100: a short batch ends the run")
                #expect(try await client.count("SELECT count(*)::int FROM queue.finished_jobs") == 300)
                #expect(try await client.count("SELECT min(id)::int FROM queue.finished_jobs") == 2501, "only the young ones stay")
                #expect(try await queue.pruneFinished(olderThan: week, batch: 200, maxBatches: 100) == JobQueue.Pruned(removed: 0, batches: 1, complete: true))
            }
        }
    }

    // MARK: running it

    @Test func oneProcessAtATimeRunsRetentionAndTheSLARoleMayRunIt() async throws {
        try await TestDatabase.with { db in
            let ticket = try await db.withClient { client async throws -> Int64 in
                let ticket = try await Self.closed(client, "ret-role")
                try await Self.endedDaysAgo(client, [ticket], 100)
                // Another process's round holds the lock: this one skips, without waiting and without work.
                let skipped = try await Admin.withConnection(on: db.url) { holder in
                    try await holder.execute("BEGIN", logger: db.logger)
                    let held = try await holder.first("SELECT hotline.try_retention_lock()", as: Bool.self, logger: db.logger)
                    #expect(held == true)
                    let report = try await Retention().round(client: client, logger: db.logger)
                    try await holder.execute("ROLLBACK", logger: db.logger)
                    return report
                }
                #expect(!skipped.lockAvailable && skipped.archivedEvents == 0 && !skipped.complete, "\(skipped)")
                #expect(try await Self.hotCount(client, ticket) > 0)
                return ticket
            }
            try await RoleTests.withLogin("hotline_sla", on: db) { login, _ async throws in
                let report = try await login.withClient { client async throws in try await Retention().round(client: client, logger: db.logger) }
                #expect(report.lockAvailable && report.archivedTickets == 1 && report.complete, "\(report)")
                for forbidden in ["SELECT * FROM hotline.ticket_events_archive", "SELECT * FROM hotline.ticket_event_log",
                                  "SELECT hotline.ensure_archive_partition('2026-01-01')"] {
                    #expect(try await RoleTests.refusal(forbidden, as: login) == "42501", "\(forbidden)")
                }
            }
            try await RoleTests.withLogin("hotline_analyst", on: db) { login, _ async throws in
                for forbidden in ["SELECT * FROM hotline.ticket_events_archive", "SELECT * FROM hotline.ticket_event_log",
                                  "SELECT * FROM hotline.archive_ended_tickets()", "SELECT * FROM hotline.prune_operational()"] {
                    #expect(try await RoleTests.refusal(forbidden, as: login) == "42501", "\(forbidden)")
                }
            }
            try await db.withClient { client async throws in
                let placed = try await Self.placement(client, ticket)
                #expect(placed.hot == 0 && placed.archived > 0, "\(placed)")
            }
        }
    }

    @Test func theLoopsSettingsAreCheckedAndARoundIsCounted() throws {
        let standard = try RetentionLoop(environment: EnvironmentReader([:]))
        #expect(standard.every == .seconds(3600) && standard.retention.archiveBatch == 5000 && standard.retention.pruneBatch == 10_000)
        #expect(try RetentionLoop(environment: EnvironmentReader(["HOTLINE_RETENTION_SECONDS": "off"])).every == nil)
        #expect(try RetentionLoop(environment: EnvironmentReader(["HOTLINE_RETENTION_SECONDS": "900", "HOTLINE_RETENTION_BATCH": "200"])).retention.pruneBatch == 400)
        for (name, value) in [("HOTLINE_RETENTION_SECONDS", "30"), ("HOTLINE_RETENTION_SECONDS", "hourly"), ("HOTLINE_RETENTION_BATCH", "50")] {
            let error = #expect(throws: ConfigurationError.self) { try RetentionLoop(environment: EnvironmentReader([name: value])) }
            #expect(error?.variable == name)
        }
        var busy = Retention.Report()
        busy.lockAvailable = false
        #expect(standard.record(busy, logger: Self.logger), "another process has the work: wait a whole interval")
        var partial = Retention.Report()
        partial.archivedEvents = 10
        #expect(!standard.record(partial, logger: Self.logger), "cut short by its bound: go on soon")
    }

    @Test func theSLATimersLoopWaitsThenRunsRoundsAndOutlastsAFailingOne() async throws {
        try await TestDatabase.with { db in
            try await db.withClient { client async throws in
                let ticket = try await Self.closed(client, "ret-loop")
                try await Self.endedDaysAgo(client, [ticket], 100)
                let events = try await Self.hotCount(client, ticket)
                var loop = RetentionLoop(every: .seconds(3600), retention: Retention())
                loop.firstWithin = .seconds(2)
                let first = try await loop.step(client, db.logger)
                #expect(first >= .seconds(1) && first <= .seconds(2), "the first round only gets scheduled")
                #expect(try await Self.placement(client, ticket) == Placement(hot: events, archived: 0))
                #expect(try await loop.step(client, db.logger) == .seconds(3600))
                #expect(try await Self.placement(client, ticket) == Placement(hot: 0, archived: events))
                // A round that fails (here a setting no one can read as days) is tried again later, not at once.
                try await client.execute(#"UPDATE hotline.settings SET value = '"ninety"' WHERE key = 'retention.archive_after_days'"#, logger: db.logger)
                #expect(try await loop.step(client, db.logger) == loop.retryAfter)
            }
        }
    }

    @Test func hotlineRetainShowsThenDoesTheWork() async throws {
        try await TestDatabase.with { db in
            let ticket = try await db.withClient { client async throws -> Int64 in
                let ticket = try await Self.closed(client, "ret-cli")
                _ = try await Self.closed(client, "ret-cli-young")
                try await Self.endedDaysAgo(client, [ticket], 95)
                try await client.execute("""
                    INSERT INTO queue.finished_jobs (id, queue, kind, payload, status, priority, attempt, max_attempts, created_at, finished_at, errors)
                    SELECT g, 'p', 'k', '{}', 'completed', 0, 1, 20, now(), now() - interval '8 days', '[]' FROM generate_series(1, 3) g
                    """, logger: db.logger)
                return ticket
            }
            let events = try await db.withClient { client async throws in try await Self.hotCount(client, ticket) }
            /// The count printed on the line of `label`.
            func count(_ output: String, _ label: String) -> Int? {
                output.split(separator: "\n").first { $0.contains(label) }?.split(separator: " ").last.flatMap { Int($0) }
            }

            let dry = try await AdminCommandTests.hotline(["retain", "--dry-run"], database: db.url)
            #expect(dry.status == 0, "\(dry.output)")
            #expect(count(dry.output, "ended tickets archived") == 1 && count(dry.output, "their events moved") == events, "\(dry.output)")
            #expect(count(dry.output, "queue.finished_jobs") == 3, "\(dry.output)")
            let later = try await AdminCommandTests.hotline(["retain", "--dry-run", "--as-of", "2999-01-01T00:00:00+08:00"], database: db.url)
            #expect(count(later.output, "ended tickets archived") == 2, "\(later.output)")
            let refused = try await AdminCommandTests.hotline(["retain", "--as-of", "2999-01-01T00:00:00+08:00"], database: db.url)
            #expect(refused.status != 0 && refused.output.contains("--as-of needs --dry-run"), "\(refused.output)")

            let run = try await AdminCommandTests.hotline(["retain"], database: db.url)
            #expect(run.status == 0, "\(run.output)")
            #expect(count(run.output, "ended tickets archived") == 1 && count(run.output, "their events moved") == events, "\(run.output)")
            #expect(count(run.output, "queue.finished_jobs") == 3 && run.output.contains("nothing more is due"), "\(run.output)")
            try await db.withClient { client async throws in
                #expect(try await Self.placement(client, ticket) == Placement(hot: 0, archived: events))
                #expect(try await client.count("SELECT count(*)::int FROM queue.finished_jobs") == 0)
                // While another process runs retention, the command says so and exits 75.
                try await Admin.withConnection(on: db.url) { holder in
                    try await holder.execute("BEGIN", logger: db.logger)
                    _ = try await holder.first("SELECT hotline.try_retention_lock()", as: Bool.self, logger: db.logger)
                    let busy = try await AdminCommandTests.hotline(["retain"], database: db.url)
                    #expect(busy.status == 75 && busy.output.contains("another process is running retention"), "\(busy.output)")
                    try await holder.execute("ROLLBACK", logger: db.logger)
                }
            }
        }
    }
}
