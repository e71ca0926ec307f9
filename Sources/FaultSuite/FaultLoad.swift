import Foundation
import Logging
import PostgresNIO
import Shared

/// The people around the fleet: channels submitting complaints (some bad, some duplicated),
/// units accepting, returning and closing, citizens answering the callback survey.
extension FaultRun {
    static let channels = ["phone", "web", "app", "wechat", "sms"]
    /// The gateway simulator scripts numbers ending in these; citizens here never have them.
    static let scriptedSuffixes: Set<String> = ["0429", "0500", "0400", "0408", "0222"]

    /// A citizen's number for call `index` (never one the simulator scripts).
    func phone(_ index: Int) -> String {
        var number = 10_000_000 + (index * 7919 + Int(options.seed % 1000) * 13) % 89_999_999
        while Self.scriptedSuffixes.contains(String(String(number).suffix(4))) { number += 1 }
        return "139\(number)"
    }

    /// Runs `body` in an explicit transaction and returns once COMMIT has answered. A statement
    /// run on its own is committed only at the protocol's Sync, after PostgresNIO has already
    /// reported it done (on CommandComplete): a server stopped between the two loses a write the
    /// caller saw succeed. The ledger must count only what was committed.
    func committed<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        try await client.transaction(logger: logger, body)
    }

    // MARK: channels

    /// Complaints at the steady rate (20× during a burst, sent from up to 32 connections at
    /// once, as many phone lines would) until `until`.
    func channelLoad(until end: ContinuousClock.Instant) async {
        var random = SeededRandom(seed: options.seed, stream: 1)
        var index = 0
        let start = ContinuousClock.now
        var sent = 0.0
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            while ContinuousClock.now < end {
                let elapsed = (ContinuousClock.now - start).seconds
                let total = Double(options.seconds)
                let bursting = scenario == .burst && elapsed > total / 3 && elapsed < total / 3 + 5
                sent += 1
                index += 1
                if bursting {
                    let call = burstCall(index, random: &random)
                    if inFlight >= 32 {
                        await group.next()
                        inFlight -= 1
                    }
                    group.addTask { await self.place(call) }
                    inFlight += 1
                } else if random.chance(0.03) {
                    await badSubmission(index, random: &random)
                } else if scenario == .races && random.chance(0.2) {
                    await duplicateRace(index, random: &random)
                } else {
                    let text = texts[Int.random(in: 0..<texts.count, using: &random)]
                    let channel = Self.channels.randomElement(using: &random)!
                    _ = await submit(externalID: "\(prefix)\(index)", channel: channel, content: text, phone: phone(index))
                }
                // Keep the rate; after a stall (an outage) go on at the rate, without a catch-up burst.
                let next = bursting ? ContinuousClock.now + .microseconds(Int64(1_000_000 / (20 * options.rate)))
                                    : start + .milliseconds(Int64(sent * 1000 / Double(options.rate)))
                if next > ContinuousClock.now {
                    try? await Task.sleep(until: next)
                } else if !bursting {
                    sent = (ContinuousClock.now - start).seconds * Double(options.rate)
                }
            }
        }
    }

    /// One submission as a channel makes it: retried until answered (the call is idempotent by
    /// external id), for at most a minute past the load's end. Returns the ticket id.
    @discardableResult
    func submit(externalID: String, channel: String, content: String, phone: String, record: Bool = true) async -> Int64? {
        let giveUp = ContinuousClock.now + .seconds(options.seconds + 60)
        while true {
            do {
                let row = try await committed { connection in
                    try await connection.first(
                        "SELECT ticket_id, created FROM hotline.submit_ticket(\(channel), \(externalID), \(content), \(phone))",
                        as: (Int64, Bool).self, logger: logger)
                }
                guard let row else { throw FaultSuiteError("submit_ticket returned no row") }
                if record { ledger.update { $0.acknowledged[externalID] = row.0 } }
                return row.0
            } catch {
                let failure = DatabaseError(error)
                if let state = failure.sqlState, state.hasPrefix("HL") {
                    ledger.violation("good submission \(externalID) refused: \(failure)")
                    return nil
                }
                if ContinuousClock.now > giveUp {
                    ledger.update { $0.unanswered.append(externalID) }
                    return nil
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Empty text, a malformed phone, an unknown channel or an oversize text: each must be
    /// refused with a code and leave nothing behind.
    private func badSubmission(_ index: Int, random: inout SeededRandom) async {
        let externalID = "\(prefix)bad-\(index)"
        let (channel, content, phone): (String, String, String) = switch Int.random(in: 0..<4, using: &random) {
        case 0: ("web", "   ", self.phone(index))
        case 1: ("web", texts[index % texts.count], "12-abc")
        case 2: ("carrier-pigeon", texts[index % texts.count], self.phone(index))
        default: ("app", String(repeating: "噪音扰民", count: 3000), self.phone(index))
        }
        while true {
            do {
                _ = try await client.first("SELECT ticket_id FROM hotline.submit_ticket(\(channel), \(externalID), \(content), \(phone))",
                                           as: Int64.self, logger: logger)
                ledger.update { $0.bad[externalID] = .some(nil) }
                return
            } catch {
                let failure = DatabaseError(error)
                if let state = failure.sqlState, state.hasPrefix("HL") {
                    ledger.update { $0.bad[externalID] = .some(state) }
                    return
                }
                try? await Task.sleep(for: .milliseconds(200))   // the database was away: try again
            }
        }
    }

    /// Four connections submit the same complaint at once: one ticket, the same id to all.
    private func duplicateRace(_ index: Int, random: inout SeededRandom) async {
        let externalID = "\(prefix)\(index)"
        let text = texts[Int.random(in: 0..<texts.count, using: &random)]
        let phone = phone(index)
        let ids = await withTaskGroup(of: Int64?.self) { group in
            for _ in 0..<4 {
                group.addTask { await self.submit(externalID: externalID, channel: "app", content: text, phone: phone) }
            }
            var ids: [Int64] = []
            for await id in group { if let id { ids.append(id) } }
            return ids
        }
        ledger.fault("duplicate submissions raced")
        ledger.check(Set(ids).count <= 1, "racing duplicates of \(externalID) got different tickets \(Set(ids).sorted())")
    }

    struct BurstCall: Sendable {
        let externalID: String
        let text: String
        let caller: String
        let repeatCaller: Bool
    }

    /// A heating-outage call: one area, near-identical words; a third of the callers call
    /// again (the same number) a little later.
    private func burstCall(_ index: Int, random: inout SeededRandom) -> BurstCall {
        let estates = ["融侨城", "枫林绿洲", "曲江池南岸", "紫薇田园都市"]
        let estate = estates[index % estates.count]
        let wording = ["雁塔区\(estate)小区暖气不热，家里只有十几度，老人孩子受不了", "雁塔区\(estate)停暖了，暖气片冰凉，请尽快处理",
                       "雁塔区\(estate)供暖不达标，室温太低"]
        let text = wording.randomElement(using: &random)!
        let repeatCaller = random.chance(0.33)
        // Repeat callers are drawn from a small pool, so the same numbers call several times.
        let caller = repeatCaller ? phone(900_000 + Int.random(in: 0..<max(8, options.rate * 3), using: &random)) : phone(index)
        return BurstCall(externalID: "\(prefix)\(index)", text: text, caller: caller, repeatCaller: repeatCaller)
    }

    private func place(_ call: BurstCall) async {
        if let _ = await submit(externalID: call.externalID, channel: "phone", content: call.text, phone: call.caller), call.repeatCaller {
            ledger.update { $0.repeatCallers[call.caller, default: []].append(call.externalID) }
        }
        ledger.fault("burst calls")
    }

    // MARK: units

    /// Units at work: most leads accept (then feed back and close a few seconds later), some
    /// return with reason, basis and a suggestion, some let the deadline pass. In the races
    /// scenario half the leads try to accept and return at the same moment.
    func unitLoad(until end: ContinuousClock.Instant) async {
        var random = SeededRandom(seed: options.seed, stream: 2)
        var seen: Set<Int64> = []
        var toClose: [(ticket: Int64, unit: String, at: ContinuousClock.Instant)] = []
        while ContinuousClock.now < end {
            do {
                let pending = try await client.all("""
                    SELECT a.id, a.ticket_id, u.code FROM hotline.assignments a
                      JOIN hotline.handling_units u ON u.id = a.unit_id
                      JOIN hotline.tickets t ON t.id = a.ticket_id
                     WHERE a.status = 'pending' AND a.role = 'lead' AND t.status = 'dispatched' AND t.external_id LIKE \(prefix + "%")
                     ORDER BY a.id LIMIT 40
                    """, as: (Int64, Int64, String).self, logger: logger)
                for (assignment, ticket, unit) in pending where seen.insert(assignment).inserted {
                    if scenario == .races && random.chance(0.5) {
                        await acceptReturnRace(assignment: assignment, ticket: ticket, unit: unit)
                    } else if random.chance(0.7) {
                        if await act("SELECT hotline.accept_ticket(\(ticket), \(unit), 'fault-suite')") {
                            ledger.update { _ = $0.acceptedAssignments.insert(assignment) }
                            toClose.append((ticket, unit, ContinuousClock.now + random.seconds(1...4)))
                        }
                    } else if random.chance(0.4) {
                        _ = await act(returnQuery(ticket: ticket, unit: unit))
                    }
                    // else: the unit lets the accept deadline pass (warnings, urging, escalation).
                }
                let due = toClose.filter { $0.at <= ContinuousClock.now }
                toClose.removeAll { $0.at <= ContinuousClock.now }
                for item in due {
                    if await act("SELECT hotline.give_feedback(\(item.ticket), \(item.unit), 'fault-suite', '已现场处置完毕', true)"),
                       await act("SELECT hotline.request_close(\(item.ticket), \(item.unit), 'fault-suite')") {
                        ledger.update { _ = $0.closedTickets.insert(item.ticket) }
                    }
                }
            } catch {
                // The database is away (a fault); the units try again shortly.
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    private func returnQuery(ticket: Int64, unit: String) -> PostgresQuery {
        let suggested = unit == "XA-CGJ" ? "XA-ZJJ" : "XA-CGJ"
        return "SELECT hotline.return_ticket(\(ticket), \(unit), 'fault-suite', '不属于本单位职责', '《西安市12345热线工单办理规范》第十二条', \(suggested))"
    }

    /// A unit action: true when it committed. A refusal (HLxxx) is the unit's problem, not a
    /// fault; a lost connection is retried once the database answers.
    private func act(_ query: PostgresQuery) async -> Bool {
        for _ in 0..<50 {
            do {
                try await committed { try await $0.execute(query, logger: logger) }
                return true
            } catch {
                if DatabaseError(error).sqlState?.hasPrefix("HL") == true { return false }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        return false
    }

    /// Accept and return of the same assignment at once: exactly one may win.
    private func acceptReturnRace(assignment: Int64, ticket: Int64, unit: String) async {
        let accept: PostgresQuery = "SELECT hotline.accept_ticket(\(ticket), \(unit), 'fault-suite')"
        let giveBack = returnQuery(ticket: ticket, unit: unit)
        async let accepted = act(accept)
        async let returned = act(giveBack)
        let (a, r) = await (accepted, returned)
        ledger.fault("accept/return races")
        ledger.check(!(a && r), "ticket \(ticket): both the accept and the return of \(unit) committed")
        if a { ledger.update { _ = $0.acceptedAssignments.insert(assignment) } }
    }

    // MARK: citizens

    /// Citizens answer the survey SMS they got: mostly satisfied, some unsatisfied (reopens).
    func citizenLoad(until end: ContinuousClock.Instant) async {
        var random = SeededRandom(seed: options.seed, stream: 3)
        while ContinuousClock.now < end {
            do {
                let surveys = try await client.all("""
                    SELECT s.id, s.phone FROM hotline.callback_surveys s JOIN hotline.sms_outbox o
                        ON o.ticket_id = s.ticket_id AND o.template = 'callback.survey' AND o.status IN ('sent', 'delivered')
                     WHERE s.status = 'sent' AND s.phone IS NOT NULL ORDER BY s.id LIMIT 20
                    """, as: (Int64, String).self, logger: logger)
                let replied = ledger.snapshot.repliedSurveys
                for (survey, phone) in surveys where replied[survey] == nil {
                    let answer = random.chance(0.8) ? "1" : "3 不满意，没人来看"
                    try await committed { try await $0.execute("SELECT hotline.receive_sms(\(phone), \(answer))", logger: logger) }
                    ledger.update { $0.repliedSurveys[survey] = answer }
                }
            } catch {
                // Away; try again.
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}
