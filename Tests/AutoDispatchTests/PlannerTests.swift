@testable import AutoDispatch
import Testing

/// Every dispatch rule kind and every fallback, table-driven, on a small city: district 1 with
/// street 11 (street office S11), district 2 without a known street, departments and a utility.
@Suite("Dispatch planner")
struct PlannerTests {
    static let units = UnitDirectory([
        Unit(code: "D1-GOV", name: "一区政府", level: "district", kind: "government", jurisdictionID: 1),
        Unit(code: "S11-GOV", name: "一街道办", level: "street", kind: "government", jurisdictionID: 11),
        Unit(code: "D2-GOV", name: "二区政府", level: "district", kind: "government", jurisdictionID: 2),
        Unit(code: "CGJ", name: "城管局", level: "city", kind: "department", jurisdictionID: 100),
        Unit(code: "ZJJ", name: "住建局", level: "city", kind: "department", jurisdictionID: 100),
        Unit(code: "ZRZY", name: "自然资源局", level: "city", kind: "department", jurisdictionID: 100),
        Unit(code: "GJ", name: "公交集团", level: "city", kind: "public_service", jurisdictionID: 100),
        Unit(code: "WATER", name: "水务集团", level: "city", kind: "utility", jurisdictionID: 100),
        Unit(code: "ENT", name: "企业服务专席", level: "city", kind: "department", jurisdictionID: 100),
    ])
    static let rules = [
        DispatchRule(id: 1, categoryPrefix: "建设/市政/环卫", responsibility: .street),
        DispatchRule(id: 2, categoryPrefix: "建设/市政/违建", responsibility: .district),
        DispatchRule(id: 3, categoryPrefix: "建设/市政/", responsibility: .unit, leadUnit: "CGJ"),
        DispatchRule(id: 4, categoryPrefix: "建设/市政/公交", responsibility: .unit, leadUnit: "GJ", skipLevel: true),
        DispatchRule(id: 5, categoryPrefix: "建设/市政/供水", responsibility: .utility, leadUnit: "WATER", skipLevel: true),
        DispatchRule(id: 6, categoryPrefix: "建设/征收/", responsibility: .joint, leadUnit: "ZJJ", coHandlers: ["ZRZY"]),
        DispatchRule(id: 7, categoryPrefix: "建设/市政/环卫", keyword: "批示", responsibility: .dispatcher),
        DispatchRule(id: 8, categoryPrefix: "建设/市政/环卫", urgency: "emergency", responsibility: .unit, leadUnit: "CGJ", cc: ["ZJJ"]),
    ]
    static let planner = Planner(rules: rules, units: units, settings: DispatchSettings(minConfidence: 0.35, buckPassingReturns: 2, enterpriseLiaison: "ENT"))

    static func ticket(_ category: String?, confidence: Double = 0.8, urgency: String = "normal", district: Int? = 1, street: Int? = 11,
                       content: String = "有事反映", enterprise: Bool = false, returns: Int = 0,
                       excluded: Set<String> = [], suggested: String? = nil) -> DispatchTicketFacts {
        DispatchTicketFacts(channel: "phone", content: content, category: category, categoryConfidence: confidence, urgency: urgency,
                            districtID: district, streetID: street, isEnterprise: enterprise, returns: returns,
                            excludedUnits: excluded, suggestedUnit: suggested)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let ticket: DispatchTicketFacts
        let expected: DispatchPlan
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a street's matter goes to the street, cc its district (dual dispatch)",
             ticket: ticket("建设/市政/环卫"),
             expected: .dispatch(lead: "S11-GOV", coHandlers: [], cc: ["D1-GOV"], linkage: [], ruleID: 1, why: "rule 1: street")),
        Case(name: "street unknown: the district government backs up",
             ticket: ticket("建设/市政/环卫", street: nil),
             expected: .dispatch(lead: "D1-GOV", coHandlers: [], cc: [], linkage: [], ruleID: 1, why: "rule 1: street, street unknown: district government")),
        Case(name: "a district's matter goes to the district government",
             ticket: ticket("建设/市政/违建"),
             expected: .dispatch(lead: "D1-GOV", coHandlers: [], cc: [], linkage: [], ruleID: 2, why: "rule 2: district")),
        Case(name: "a department leads, the territorial district co-handles",
             ticket: ticket("建设/市政/路灯"),
             expected: .dispatch(lead: "CGJ", coHandlers: ["D1-GOV"], cc: [], linkage: [], ruleID: 3, why: "rule 3: unit")),
        Case(name: "skip-level: a city-wide service without the territory",
             ticket: ticket("建设/市政/公交"),
             expected: .dispatch(lead: "GJ", coHandlers: [], cc: [], linkage: [], ruleID: 4, why: "rule 4: unit")),
        Case(name: "a utility gets it straight, even without a place",
             ticket: ticket("建设/市政/供水", district: nil, street: nil),
             expected: .dispatch(lead: "WATER", coHandlers: [], cc: [], linkage: [], ruleID: 5, why: "rule 5: utility")),
        Case(name: "joint dispatch: lead, named co-handlers and the territory",
             ticket: ticket("建设/征收/补偿", district: 2, street: nil),
             expected: .dispatch(lead: "ZJJ", coHandlers: ["ZRZY", "D2-GOV"], cc: [], linkage: [], ruleID: 6, why: "rule 6: joint")),
        Case(name: "a keyword rule beats the category rule: a leader's instruction goes to a dispatcher",
             ticket: ticket("建设/市政/环卫", content: "领导批示要求尽快处理"),
             expected: .dispatcher(reasons: ["unclear_responsibility"], candidates: [.init(unit: "D1-GOV", score: 0.5, why: "territorial government (属地)")])),
        Case(name: "an emergency rule is more specific; a fire raises 119 linkage",
             ticket: ticket("建设/市政/环卫", urgency: "emergency", content: "垃圾站着火了"),
             expected: .dispatch(lead: "CGJ", coHandlers: ["D1-GOV"], cc: ["ZJJ"], linkage: ["119"], ruleID: 8, why: "rule 8: unit")),
        Case(name: "other emergencies raise 110 linkage",
             ticket: ticket("建设/市政/路灯", urgency: "emergency", content: "有人在路口持刀"),
             expected: .dispatch(lead: "CGJ", coHandlers: ["D1-GOV"], cc: [], linkage: ["110"], ruleID: 3, why: "rule 3: unit")),
        Case(name: "an enterprise complaint cc's the enterprise liaison",
             ticket: ticket("建设/市政/环卫", enterprise: true),
             expected: .dispatch(lead: "S11-GOV", coHandlers: [], cc: ["D1-GOV", "ENT"], linkage: [], ruleID: 1, why: "rule 1: street")),
        Case(name: "low confidence goes to a dispatcher with candidates",
             ticket: ticket("建设/市政/环卫", confidence: 0.2),
             expected: .dispatcher(reasons: ["low_confidence"], candidates: [
                .init(unit: "S11-GOV", score: 0.2, why: "rule 1 for 建设/市政/环卫"),
                .init(unit: "D1-GOV", score: 0.5, why: "territorial government (属地)")])),
        Case(name: "no rule for the category: a dispatcher, never a guess",
             ticket: ticket("教育/招生/入学"),
             expected: .dispatcher(reasons: ["no_rule"], candidates: [.init(unit: "D1-GOV", score: 0.5, why: "territorial government (属地)")])),
        Case(name: "territory decides but there is no place",
             ticket: ticket("建设/市政/违建", district: nil, street: nil),
             expected: .dispatcher(reasons: ["no_place"], candidates: [])),
        Case(name: "a returned ticket goes to the returning unit's suggestion, never back",
             ticket: ticket("建设/市政/路灯", returns: 1, excluded: ["CGJ"], suggested: "ZJJ"),
             expected: .dispatch(lead: "ZJJ", coHandlers: ["D1-GOV"], cc: [], linkage: [], ruleID: 3,
                                 why: "rule 3: unit, returned: the returning unit's suggestion leads")),
        Case(name: "a return whose suggestion also returned it goes to a dispatcher",
             ticket: ticket("建设/市政/路灯", returns: 1, excluded: ["CGJ", "ZJJ"], suggested: "ZJJ"),
             expected: .dispatcher(reasons: ["returned", "unclear_responsibility"], candidates: [.init(unit: "D1-GOV", score: 0.5, why: "territorial government (属地)")])),
        Case(name: "repeated returns are buck-passing: a dispatcher decides",
             ticket: ticket("建设/市政/路灯", returns: 2, excluded: ["CGJ", "ZJJ"], suggested: "ZRZY"),
             expected: .dispatcher(reasons: ["buck_passing"], candidates: [
                .init(unit: "D1-GOV", score: 0.5, why: "territorial government (属地)"),
                .init(unit: "ZRZY", score: 0.6, why: "suggested by the returning unit")])),
    ]

    @Test(arguments: cases)
    func plans(_ test: Case) {
        #expect(Self.planner.plan(test.ticket) == test.expected)
    }

    @Test func theMostSpecificRuleWinsThenPriorityThenID() {
        let rules = [
            DispatchRule(id: 1, categoryPrefix: "a/", responsibility: .district),
            DispatchRule(id: 2, categoryPrefix: "a/b/", responsibility: .street),
            DispatchRule(id: 3, categoryPrefix: "a/b/", responsibility: .unit, leadUnit: "CGJ", priority: 50),
            DispatchRule(id: 4, categoryPrefix: "a/b/", responsibility: .unit, leadUnit: "ZJJ", priority: 50),
        ]
        let planner = Planner(rules: rules, units: Self.units, settings: DispatchSettings())
        #expect(planner.bestRule(for: Self.ticket("a/b/c"))?.id == 3)
        #expect(planner.bestRule(for: Self.ticket("a/x/c"))?.id == 1)
        #expect(planner.bestRule(for: Self.ticket("z/b/c")) == nil)
    }
}
