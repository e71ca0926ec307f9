/// One row of `hotline.dispatch_rules`: what it matches and who is responsible.
struct DispatchRule: Equatable, Sendable {
    enum Responsibility: String, Sendable { case street, district, unit, utility, joint, dispatcher }
    var id: Int
    var categoryPrefix: String?
    var urgency: String?
    var channel: String?
    var keyword: String?
    var responsibility: Responsibility
    var leadUnit: String?
    var coHandlers: [String] = []
    var cc: [String] = []
    var skipLevel = false
    var priority = 100

    /// How specific a match is (keyword > category > urgency > channel; a longer category prefix
    /// is more specific), or nil when the rule does not match the ticket.
    func specificity(for ticket: DispatchTicketFacts) -> Double? {
        var score = 0.0
        if let categoryPrefix {
            guard let category = ticket.category, category.hasPrefix(categoryPrefix) else { return nil }
            score += 4 + Double(categoryPrefix.count) / 1000
        }
        if let keyword {
            guard ticket.content.contains(keyword) else { return nil }
            score += 8
        }
        if let urgency {
            guard ticket.urgency == urgency else { return nil }
            score += 2
        }
        if let channel {
            guard ticket.channel == channel else { return nil }
            score += 1
        }
        return score
    }
}

/// A handling unit as dispatch sees it.
struct Unit: Equatable, Sendable {
    var code: String
    var name: String
    var level: String
    var kind: String
    var jurisdictionID: Int
}

/// The units and the territorial lookups: the street office of a street, the government (or
/// zone committee) of a district.
struct UnitDirectory: Sendable {
    let byCode: [String: Unit]
    private let governmentOf: [Int: String]

    init(_ units: [Unit]) {
        byCode = Dictionary(units.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
        var governments: [Int: String] = [:]
        for unit in units where unit.kind == "government" && governments[unit.jurisdictionID] == nil {
            governments[unit.jurisdictionID] = unit.code
        }
        governmentOf = governments
    }

    /// The government unit of a jurisdiction (street office, district government, zone committee).
    func government(of jurisdiction: Int?) -> String? {
        jurisdiction.flatMap { governmentOf[$0] }
    }
}

/// What dispatch needs to know about one ticket.
struct DispatchTicketFacts: Sendable {
    var channel: String
    var content: String
    var category: String?
    var categoryConfidence: Double
    var urgency: String
    var districtID: Int?
    var streetID: Int?
    var isEnterprise: Bool
    /// Lead returns so far, the units that returned it, and the last returner's suggestion.
    var returns = 0
    var excludedUnits: Set<String> = []
    var suggestedUnit: String?
}

struct DispatchSettings: Sendable {
    var minConfidence = 0.35
    var buckPassingReturns = 2
    var enterpriseLiaison: String? = "XA-ENT"
}

/// The decision for one ticket.
enum DispatchPlan: Equatable, Sendable {
    case dispatch(lead: String, coHandlers: [String], cc: [String], linkage: [String], ruleID: Int?, why: String)
    case dispatcher(reasons: [String], candidates: [Candidate])

    struct Candidate: Equatable, Sendable, Codable {
        var unit: String
        var score: Double
        var why: String
    }
}

/// Territory first, competence second (DOMAIN.md "Dispatch"): the most specific matching rule
/// names who is responsible; the ticket's place turns "the street" or "the district" into a
/// unit; territorial co-handlers and cc follow unless the rule skips levels. Anything unsure —
/// low confidence, no rule, no place where territory decides, a lead that already returned it,
/// buck-passing — goes to a human dispatcher with the reasons and candidates, never a guess.
struct Planner: Sendable {
    let rules: [DispatchRule]
    let units: UnitDirectory
    let settings: DispatchSettings

    /// Words that make an emergency a fire service (119) matter rather than a police (110) one.
    static let fireWords = ["着火", "起火", "火灾", "冒烟", "燃气", "煤气", "天然气", "爆炸", "被困", "坍塌"]

    func plan(_ ticket: DispatchTicketFacts) -> DispatchPlan {
        let rule = bestRule(for: ticket)
        var candidates: [DispatchPlan.Candidate] = []
        if let rule, let lead = rule.leadUnit ?? territorialLead(rule, ticket) {
            candidates.append(.init(unit: lead, score: ticket.categoryConfidence, why: "rule \(rule.id) for \(ticket.category ?? "-")"))
        }
        if let district = units.government(of: ticket.districtID), !candidates.contains(where: { $0.unit == district }) {
            candidates.append(.init(unit: district, score: 0.5, why: "territorial government (属地)"))
        }
        candidates.removeAll { ticket.excludedUnits.contains($0.unit) }
        if let suggested = ticket.suggestedUnit, !ticket.excludedUnits.contains(suggested),
           !candidates.contains(where: { $0.unit == suggested }) {
            candidates.append(.init(unit: suggested, score: 0.6, why: "suggested by the returning unit"))
        }
        func toDispatcher(_ reasons: String...) -> DispatchPlan { .dispatcher(reasons: reasons, candidates: candidates) }

        if ticket.returns >= settings.buckPassingReturns { return toDispatcher("buck_passing") }
        guard ticket.category != nil, ticket.categoryConfidence >= settings.minConfidence else { return toDispatcher("low_confidence") }
        guard let rule else { return toDispatcher("no_rule") }

        var lead: String
        var coHandlers = rule.coHandlers
        var cc = rule.cc
        let district = units.government(of: ticket.districtID)
        var why = "rule \(rule.id): \(rule.responsibility.rawValue)"
        switch rule.responsibility {
        case .dispatcher:
            return toDispatcher("unclear_responsibility")
        case .street:
            if let street = units.government(of: ticket.streetID) {
                lead = street
                if !rule.skipLevel, let district { cc.insert(district, at: 0) }      // dual dispatch
            } else if let district {
                lead = district                                                     // the level above backs up
                why += ", street unknown: district government"
            } else {
                return toDispatcher("no_place")
            }
        case .district:
            guard let district else { return toDispatcher("no_place") }
            lead = district
        case .unit, .joint:
            lead = rule.leadUnit!
            if !rule.skipLevel, let district { coHandlers.append(district) }         // the territory co-handles
        case .utility:
            lead = rule.leadUnit!                                                   // straight to the utility
        }

        // A unit that returned the ticket does not get it back; its suggestion may, once.
        if ticket.excludedUnits.contains(lead) {
            guard let suggested = ticket.suggestedUnit, !ticket.excludedUnits.contains(suggested),
                  units.byCode[suggested] != nil else { return toDispatcher("returned", "unclear_responsibility") }
            lead = suggested
            why += ", returned: the returning unit's suggestion leads"
        }
        if ticket.isEnterprise, let liaison = settings.enterpriseLiaison { cc.append(liaison) }
        var seen: Set<String> = [lead]
        coHandlers = coHandlers.filter { !ticket.excludedUnits.contains($0) && seen.insert($0).inserted }
        cc = cc.filter { seen.insert($0).inserted }
        var linkage: [String] = []
        if ticket.urgency == "emergency" {
            linkage = [Self.fireWords.contains(where: ticket.content.contains) ? "119" : "110"]
        }
        return .dispatch(lead: lead, coHandlers: coHandlers, cc: cc, linkage: linkage, ruleID: rule.id, why: why)
    }

    func bestRule(for ticket: DispatchTicketFacts) -> DispatchRule? {
        rules.compactMap { rule in rule.specificity(for: ticket).map { (rule, $0) } }
            .min { a, b in
                if a.1 != b.1 { return a.1 > b.1 }
                if a.0.priority != b.0.priority { return a.0.priority < b.0.priority }
                return a.0.id < b.0.id
            }?.0
    }

    private func territorialLead(_ rule: DispatchRule, _ ticket: DispatchTicketFacts) -> String? {
        switch rule.responsibility {
        case .street: units.government(of: ticket.streetID) ?? units.government(of: ticket.districtID)
        case .district: units.government(of: ticket.districtID)
        default: nil
        }
    }
}
