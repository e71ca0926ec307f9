import Foundation
import Logging
import PostgresNIO
import Shared
import Synchronization

/// What the people around the fleet did in the demo, counted as it happens.
final class DemoTally: Sendable {
    struct Counts: Sendable {
        var submitted: [String: Int] = [:]        // by channel, new tickets
        var urgencyAsked: [String: Int] = [:]     // by the corpus's urgency label of the text sent
        var refused: [String: Int] = [:]          // bad submissions, by the code they were refused with
        var refusedUnexpectedly = 0               // a bad submission that was accepted (must stay 0)
        var repeatCalls = 0
        var resent = 0                            // the same submission again: answered with the same ticket
        var unit: [String: Int] = [:]             // unit actions done, by kind
        var unitRefused: [String: Int] = [:]      // unit actions refused, by code
        var replies: [String: Int] = [:]          // citizens' survey replies, by kind
        var dispatcherDecisions = 0
        var created: Int { submitted.values.reduce(0, +) }
    }
    private let counts = Mutex(Counts())

    func update(_ body: (inout Counts) -> Void) { counts.withLock { body(&$0) } }
    var snapshot: Counts { counts.withLock { $0 } }
}

/// The demo's time: the SLA allowances it planned its units around (shortened in a throwaway
/// database, the real ones otherwise).
struct DemoTime: Sendable {
    var accept: Double
    var feedback: [String: Double]
    var shortened: Bool

    static let demo = DemoTime(accept: 20, feedback: ["emergency": 30, "basic_livelihood": 60, "normal": 90, "complex": 120, "enterprise": 90],
                               shortened: true)
    static let real = DemoTime(accept: 3600, feedback: ["emergency": 7200, "basic_livelihood": 86400, "normal": 604_800,
                                                        "complex": 1_296_000, "enterprise": 604_800], shortened: false)

    func feedbackAllowance(_ urgency: String?) -> Double { feedback[urgency ?? "normal"] ?? feedback["normal"]! }

    /// Writes the shortened allowances into the database's SLA policies (and puts the survey
    /// right after closing, with no quiet hours): for a throwaway demo database only.
    static func apply(_ time: DemoTime, client: PostgresClient, logger: Logger) async throws {
        let classes = Array(time.feedback.keys).sorted()
        let seconds = classes.map { time.feedback[$0]! }
        try await client.execute("""
            UPDATE hotline.sla_policies p
               SET allowance = make_interval(secs => CASE p.timer_kind WHEN 'accept' THEN \(time.accept)
                                                      ELSE coalesce((SELECT f.s FROM unnest(\(classes)::text[], \(seconds)::float8[]) AS f(c, s)
                                                                      WHERE f.c = p.urgency_class), 90) END),
                   day_kind = 'calendar'
            """, logger: logger)
        try await client.execute("UPDATE hotline.settings SET value = '0' WHERE key = 'callback.delay_minutes'", logger: logger)
        try await client.execute(#"UPDATE hotline.settings SET value = '["00:00", "00:00"]' WHERE key = 'citizen.quiet_hours'"#, logger: logger)
    }
}

/// Channels submitting complaints: texts from the labelled corpus across every urgency class and
/// channel (self-reports included), some repeat calls about an open matter, some resent
/// submissions, and some bad ones that must be refused with their codes.
struct DemoChannels: Sendable {
    let client: PostgresClient
    let logger: Logger
    let tally: DemoTally
    let corpus: [LabelledCorpus.Row]
    let rate: Double
    let limit: Int?
    let seed: UInt64
    let prefix: String

    /// The classes in the mix, with their share: every class shows up in a minute.
    static let mix: [(urgency: String, share: Double)] = [
        ("normal", 0.42), ("basic_livelihood", 0.16), ("emergency", 0.12), ("complex", 0.12), ("enterprise", 0.18),
    ]

    /// Runs until cancelled, or until `limit` tickets were created; returns how many.
    func run() async -> Int {
        var random = SeededRandom(seed: seed, stream: 1)
        let byUrgency = Dictionary(grouping: corpus, by: \.urgency)
        let selfReports = corpus.filter { $0.channel == "self_report" }
        var recent: [(externalID: String, channel: String, text: String, phone: String, at: ContinuousClock.Instant)] = []
        var index = 0
        let start = ContinuousClock.now
        while !Task.isCancelled {
            if let limit, tally.snapshot.created >= limit { break }
            index += 1
            let roll = Double.random(in: 0..<1, using: &random)
            if roll < 0.05 {
                await badSubmission(index, random: &random)
            } else if roll < 0.12, let earlier = recent.filter({ ContinuousClock.now - $0.at > .seconds(3) }).randomElement(using: &random) {
                // The same caller calls again about the same matter (a new call, a new external id).
                if await submit("\(prefix)r\(index)", "phone", earlier.text, earlier.phone) != nil {
                    tally.update { $0.repeatCalls += 1; $0.submitted["phone", default: 0] += 1 }
                }
            } else if roll < 0.14, let earlier = recent.last {
                // A channel resends a submission it is not sure went through: the same ticket comes back.
                if let created = await submit(earlier.externalID, earlier.channel, earlier.text, earlier.phone), !created {
                    tally.update { $0.resent += 1 }
                }
            } else {
                let row: LabelledCorpus.Row
                if random.chance(0.08), let report = selfReports.randomElement(using: &random) {
                    row = report
                } else {
                    var pick = Double.random(in: 0..<1, using: &random)
                    var urgency = "normal"
                    for (candidate, share) in Self.mix {
                        pick -= share
                        if pick < 0 { urgency = candidate; break }
                    }
                    row = (byUrgency[urgency] ?? corpus).randomElement(using: &random)!
                }
                let externalID = "\(prefix)\(index)"
                let phone = "139" + String(format: "%08d", (index * 7919 + Int(seed % 997)) % 100_000_000)
                if let created = await submit(externalID, row.channel, row.text, phone), created {
                    tally.update { $0.submitted[row.channel, default: 0] += 1; $0.urgencyAsked[row.urgency, default: 0] += 1 }
                    recent.append((externalID, row.channel, row.text, phone, ContinuousClock.now))
                    if recent.count > 200 { recent.removeFirst(recent.count - 200) }
                }
            }
            // Keep the rate; after a stall go on at the rate without a catch-up burst.
            let next = start + .milliseconds(Int64(Double(index) * 1000 / rate))
            if next > .now { try? await Task.sleep(until: next) } else { index = Int((ContinuousClock.now - start).seconds * rate) }
        }
        return tally.snapshot.created
    }

    /// Returns whether a new ticket was created, or nil when the submission failed.
    private func submit(_ externalID: String, _ channel: String, _ text: String, _ phone: String) async -> Bool? {
        do {
            return try await client.first("""
                SELECT created FROM hotline.submit_ticket(\(channel), \(externalID), \(text), \(phone))
                """, as: Bool.self, logger: logger)
        } catch {
            if !Task.isCancelled { logger.warning("a good submission failed", metadata: ["error": "\(DatabaseError(error))"]) }
            return nil
        }
    }

    /// Empty text, a malformed number, an unknown channel, an oversize text, no external id, a
    /// time in the future: each must be refused with its code and leave nothing behind.
    private func badSubmission(_ index: Int, random: inout SeededRandom) async {
        let text = corpus[index % corpus.count].text
        let externalID = "\(prefix)bad\(index)"
        let submittedAt: Date? = nil
        let (channel, id, content, phone, at): (String, String, String, String, Date?) = switch Int.random(in: 0..<6, using: &random) {
        case 0: ("web", externalID, "  \u{3000} ", "13900000001", submittedAt)
        case 1: ("app", externalID, text, "12-abc", submittedAt)
        case 2: ("fax", externalID, text, "13900000001", submittedAt)
        case 3: ("wechat", externalID, String(repeating: "噪音扰民", count: 2600), "13900000001", submittedAt)
        case 4: ("web", "", text, "13900000001", submittedAt)
        default: ("web", externalID, text, "13900000001", Date().addingTimeInterval(86_400))
        }
        do {
            _ = try await client.first("""
                SELECT ticket_id FROM hotline.submit_ticket(\(channel), \(id), \(content), \(phone), NULL, \(at))
                """, as: Int64.self, logger: logger)
            tally.update { $0.refusedUnexpectedly += 1 }
        } catch {
            let code = DatabaseError(error).sqlState ?? "?"
            if !Task.isCancelled { tally.update { $0.refused[code, default: 0] += 1 } }
        }
    }
}

/// The units at work: most accept within the deadline, some only after the warning, some too
/// late (urging and escalation follow); some leads return with reason, basis and a suggested
/// unit; some whistle other units in; some pause to wait for the citizen; then feedback (a few
/// late) and the close request. Co-handlers and summoned units report in. The human dispatcher
/// places what the fleet put in front of a person.
struct DemoUnits: Sendable {
    let client: PostgresClient
    let logger: Logger
    let tally: DemoTally
    let time: DemoTime
    let seed: UInt64

    enum Action: Sendable {
        case accept(ticket: Int64, unit: String, lead: Bool, urgency: String?)
        case giveBack(ticket: Int64, unit: String)
        case whistle(ticket: Int64, unit: String)
        case pause(ticket: Int64, unit: String)
        case resume(ticket: Int64, unit: String)
        case feedback(ticket: Int64, unit: String, resolved: Bool)
        case close(ticket: Int64, unit: String)
    }

    func run() async {
        var random = SeededRandom(seed: seed, stream: 2)
        var seen: Set<Int64> = []
        var agenda: [(at: ContinuousClock.Instant, action: Action)] = []
        var decided: [Int64: ContinuousClock.Instant] = [:]
        let units = (try? await client.all("SELECT code FROM hotline.handling_units WHERE active ORDER BY code", as: String.self, logger: logger)) ?? []
        while !Task.isCancelled {
            do {
                let pending = try await client.all("""
                    SELECT a.id, a.ticket_id, u.code, a.role, t.urgency_class, t.returns
                      FROM hotline.assignments a
                      JOIN hotline.handling_units u ON u.id = a.unit_id
                      JOIN hotline.tickets t ON t.id = a.ticket_id
                     WHERE a.status = 'pending' AND a.role <> 'cc' AND a.round = t.dispatch_round
                       AND t.status NOT IN ('closed', 'cancelled', 'merged')
                     ORDER BY a.id LIMIT 500
                    """, as: (Int64, Int64, String, String, String?, Int).self, logger: logger)
                for (assignment, ticket, unit, role, urgency, returns) in pending where seen.insert(assignment).inserted {
                    let lead = role == "lead"
                    if lead && returns < 2 && random.chance(0.10) || !lead && role == "co_handler" && random.chance(0.05) {
                        agenda.append((.now + random.seconds(2...8), .giveBack(ticket: ticket, unit: unit)))
                        continue
                    }
                    // In time mostly; some after the warning (75 % of the allowance); some late.
                    let share = Double.random(in: 0..<1, using: &random)
                    let delay = share < 0.65 ? random.seconds(1...(time.accept * 0.4))
                        : share < 0.85 ? random.seconds((time.accept * 0.78)...(time.accept * 0.95))
                        : random.seconds((time.accept * 1.05)...(time.accept * 2.3))
                    agenda.append((.now + delay, .accept(ticket: ticket, unit: unit, lead: lead, urgency: urgency)))
                }
                try await dispatch(decided: &decided)
            } catch {
                if Task.isCancelled { return }
                logger.warning("units could not read their work", metadata: ["error": "\(DatabaseError(error))"])
            }
            let now = ContinuousClock.now
            let due = agenda.filter { $0.at <= now }
            agenda.removeAll { $0.at <= now }
            for item in due where !Task.isCancelled {
                let followUps = await perform(item.action, units: units, random: &random)
                agenda.append(contentsOf: followUps)
            }
            try? await Task.sleep(for: .milliseconds(400))
        }
    }

    /// Does one action; returns what the unit does next.
    private func perform(_ action: Action, units: [String], random: inout SeededRandom) async -> [(at: ContinuousClock.Instant, action: Action)] {
        switch action {
        case .accept(let ticket, let unit, let lead, let urgency):
            guard await act("accepted", "SELECT hotline.accept_ticket(\(ticket), \(unit), '值班员')") else { return [] }
            guard lead else { return [] }
            var next: [(ContinuousClock.Instant, Action)] = []
            let allowance = time.feedbackAllowance(urgency)
            if random.chance(0.06), units.count > 1 {
                next.append((.now + random.seconds(1...3), .whistle(ticket: ticket, unit: unit)))
            }
            if random.chance(0.05) {
                next.append((.now + random.seconds(1...2), .pause(ticket: ticket, unit: unit)))
                next.append((.now + random.seconds(4...8), .resume(ticket: ticket, unit: unit)))
            }
            let late = random.chance(0.12)
            let delay = late ? random.seconds((allowance * 1.05)...(allowance * 1.3)) : random.seconds((allowance * 0.15)...(allowance * 0.5))
            next.append((.now + delay + .seconds(3), .feedback(ticket: ticket, unit: unit, resolved: random.chance(0.9))))
            return next
        case .giveBack(let ticket, let unit):
            let suggested = units.filter { $0 != unit }.randomElement(using: &random) ?? "610100-GOV"
            _ = await act("returned", """
                SELECT hotline.return_ticket(\(ticket), \(unit), '值班员', '该事项不属于本单位职责范围', '《西安市12345热线工单办理规范》职责清单', \(suggested))
                """)
            return []
        case .whistle(let ticket, let unit):
            let summoned = units.filter { $0 != unit && $0.hasSuffix("-GOV") }.randomElement(using: &random) ?? "610100-GOV"
            _ = await act("whistled", "SELECT hotline.whistle(\(ticket), \(unit), '值班员', \([summoned])::text[], '需要属地协同处置')")
            return []
        case .pause(let ticket, let unit):
            _ = await act("paused", "SELECT hotline.pause_ticket(\(ticket), \(unit), '值班员', '等待群众补充材料')")
            return []
        case .resume(let ticket, let unit):
            _ = await act("resumed", "SELECT hotline.resume_ticket(\(ticket), \(unit), '值班员')")
            return []
        case .feedback(let ticket, let unit, let resolved):
            guard await act("feedback", """
                SELECT hotline.give_feedback(\(ticket), \(unit), '值班员', \(resolved ? "已现场核实并处置完毕" : "已协调相关方，正在持续推进"), \(resolved))
                """) else { return [] }
            return [(.now + random.seconds(1...3), .close(ticket: ticket, unit: unit))]
        case .close(let ticket, let unit):
            _ = await act("closed", "SELECT hotline.request_close(\(ticket), \(unit), '值班员')")
            return []
        }
    }

    /// True when the action committed; a refusal (HLxxx: the ticket moved on meanwhile) is counted.
    private func act(_ kind: String, _ query: PostgresQuery) async -> Bool {
        do {
            try await client.execute(query, logger: logger)
            tally.update { $0.unit[kind, default: 0] += 1 }
            return true
        } catch {
            let failure = DatabaseError(error)
            if !Task.isCancelled { tally.update { $0.unitRefused["\(kind):\(failure.sqlState ?? "?")", default: 0] += 1 } }
            return false
        }
    }

    /// The human dispatcher: a ticket waiting a few seconds goes to its best-scored candidate (or
    /// its district's government), in its category (or the generic one).
    private func dispatch(decided: inout [Int64: ContinuousClock.Instant]) async throws {
        let waiting = try await client.all("""
            SELECT d.ticket_id, coalesce(d.candidates -> 0 ->> 'unit', g.code, '610100-GOV'),
                   coalesce(c.label, (SELECT label FROM hotline.categories ORDER BY (level3 = '其他') DESC, id LIMIT 1))
              FROM hotline.dispatcher_queue d
              JOIN hotline.tickets t ON t.id = d.ticket_id
              LEFT JOIN hotline.categories c ON c.id = t.category_id
              LEFT JOIN hotline.jurisdictions j ON j.id = t.district_id
              LEFT JOIN hotline.handling_units g ON g.code = j.code || '-GOV'
             WHERE d.status = 'waiting' AND d.queued_at < now() - interval '3 seconds'
             ORDER BY d.queued_at LIMIT 20
            """, as: (Int64, String, String).self, logger: logger)
        for (ticket, lead, category) in waiting where (decided[ticket].map { ContinuousClock.now - $0 > .seconds(30) } ?? true) {
            decided[ticket] = .now
            if await act("dispatcher decided", "SELECT hotline.dispatcher_decide(\(ticket), '调度员', \(category), \(lead))") {
                tally.update { $0.dispatcherDecisions += 1 }
            }
        }
    }
}

/// Citizens answering the survey SMS they received: most satisfied, some basically satisfied,
/// some unsatisfied or unsolved (the ticket reopens and escalates), some unclear (an operator
/// calls them).
struct DemoCitizens: Sendable {
    let client: PostgresClient
    let logger: Logger
    let tally: DemoTally
    let seed: UInt64

    static let replies: [(kind: String, text: String, share: Double)] = [
        ("satisfied", "1", 0.50), ("satisfied", "满意，谢谢", 0.12), ("basically satisfied", "2", 0.12),
        ("unsatisfied", "3 不满意，问题还是没解决", 0.13), ("unsolved", "0", 0.05), ("unclear", "好的", 0.08),
    ]

    func run() async {
        var random = SeededRandom(seed: seed, stream: 3)
        var answered: Set<Int64> = []
        var agenda: [(at: ContinuousClock.Instant, survey: Int64, phone: String)] = []
        while !Task.isCancelled {
            do {
                let surveys = try await client.all("""
                    SELECT s.id, s.phone FROM hotline.callback_surveys s
                     WHERE s.status = 'sent' AND s.phone IS NOT NULL
                       AND EXISTS (SELECT 1 FROM hotline.sms_outbox o WHERE o.ticket_id = s.ticket_id AND o.template = 'callback.survey'
                                      AND o.status IN ('sent', 'delivered'))
                     ORDER BY s.id LIMIT 200
                    """, as: (Int64, String).self, logger: logger)
                for (survey, phone) in surveys where answered.insert(survey).inserted {
                    agenda.append((.now + random.seconds(1...5), survey, phone))
                }
            } catch {
                if Task.isCancelled { return }
            }
            let now = ContinuousClock.now
            for item in agenda where item.at <= now && !Task.isCancelled {
                var pick = Double.random(in: 0..<1, using: &random)
                var reply = Self.replies[0]
                for candidate in Self.replies {
                    pick -= candidate.share
                    if pick < 0 { reply = candidate; break }
                }
                do {
                    try await client.execute("SELECT hotline.receive_sms(\(item.phone), \(reply.text))", logger: logger)
                    tally.update { $0.replies[reply.kind, default: 0] += 1 }
                } catch {
                    if !Task.isCancelled { tally.update { $0.replies["refused " + (DatabaseError(error).sqlState ?? "?"), default: 0] += 1 } }
                }
            }
            agenda.removeAll { $0.at <= now }
            try? await Task.sleep(for: .milliseconds(700))
        }
    }
}
