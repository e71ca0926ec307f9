import Foundation
import Logging
import PostgresNIO
import Shared

/// The job intake-extraction (and a unit's return) enqueues for a ticket to (re)dispatch.
struct DispatchTicket: JobPayload {
    static let kind = "ticket.dispatch"
    let ticketID: Int64
    enum CodingKeys: String, CodingKey { case ticketID = "ticket_id" }
}

extension Planner {
    /// The rules, units and settings as the database has them now.
    static func load(from runner: some SQLRunner, logger: Logger) async throws -> Planner {
        let rules = try await runner.all("""
            SELECT id, category_prefix, urgency_class, channel, keyword, responsibility, lead_unit, co_handlers, cc, skip_level, priority
              FROM hotline.dispatch_rules WHERE active
            """, as: (Int, String?, String?, String?, String?, String, String?, [String], [String], Bool, Int).self, logger: logger)
            .compactMap { r in
                DispatchRule.Responsibility(rawValue: r.5).map {
                    DispatchRule(id: r.0, categoryPrefix: r.1, urgency: r.2, channel: r.3, keyword: r.4, responsibility: $0,
                                 leadUnit: r.6, coHandlers: r.7, cc: r.8, skipLevel: r.9, priority: r.10)
                }
            }
        let units = try await runner.all(
            "SELECT code, name, level, kind, jurisdiction_id FROM hotline.handling_units WHERE active ORDER BY id",
            as: (String, String, String, String, Int).self, logger: logger
        ).map { Unit(code: $0.0, name: $0.1, level: $0.2, kind: $0.3, jurisdictionID: $0.4) }
        let values = try await runner.first("""
            SELECT (hotline.setting('dispatch.min_confidence'))::float8, (hotline.setting('dispatch.buck_passing_returns'))::int,
                   hotline.setting('enterprise.liaison_unit') #>> '{}'
            """, as: (Double, Int, String?).self, logger: logger)
        var settings = DispatchSettings()
        if let values { settings = DispatchSettings(minConfidence: values.0, buckPassingReturns: values.1, enterpriseLiaison: values.2) }
        return Planner(rules: rules, units: UnitDirectory(units), settings: settings)
    }
}

/// The planner this process uses, reloaded every minute so edited rules apply without a restart.
typealias DispatchModel = Reloading<Planner>

extension Reloading where Value == Planner {
    init() {
        self.init(every: .seconds(60)) { client, logger in
            let planner = try await Planner.load(from: client, logger: logger)
            logger.info("dispatch rules loaded", metadata: ["rules": "\(planner.rules.count)", "units": "\(planner.units.byCode.count)"])
            return planner
        }
    }
}

enum DispatchTicketHandler {
    /// Plans tickets and records the plans in groups (see `GroupCommit`): the group is read
    /// (`hotline.read_for_dispatch`, no lock) and planned here, then `hotline.record_dispatches`
    /// writes it in one statement and one transaction: a dispatch round (`record_dispatch`) or a
    /// place in the dispatcher queue per ticket, and the jobs' completion. A ticket already
    /// dispatched, closed or waiting for a dispatcher is left alone; one whose row changed since
    /// the read (a unit's return, a dispatcher's decision) is read and planned again.
    static func group() -> GroupCommit<(ticketID: Int64, planner: Planner), String> {
        GroupCommit(maxBatch: 32) { group in
            let rows = try await group.client.all("""
                SELECT ticket_id, status, channel, content, category, category_confidence, urgency_class, district_id,
                       street_id, is_enterprise, returns, awaiting_dispatcher, returned_by, suggested_unit, version
                  FROM hotline.read_for_dispatch(\(group.items.map(\.ticketID))::bigint[])
                """, as: (Int64, String, String, String, String?, Double, String, Int?, Int?, Bool, Int, Bool, [String], String?, String).self,
                logger: group.logger)
            let byID = Dictionary(rows.map { ($0.0, $0) }, uniquingKeysWith: { first, _ in first })
            var decisions: [Decision] = []
            var seen: Set<Int64> = []
            for ((id, planner), job) in zip(group.items, group.jobIDs) {
                guard let row = byID[id] else { throw JobFailure.permanent("ticket \(id) does not exist") }
                guard ["extracted", "returned", "reopened"].contains(row.1), !row.11, seen.insert(id).inserted else {
                    decisions.append(Decision(jobID: job.rawValue, action: "skip", skipped: row.1))
                    continue
                }
                var facts = DispatchTicketFacts(channel: row.2, content: row.3, category: row.4, categoryConfidence: row.5,
                                                urgency: row.6, districtID: row.7, streetID: row.8, isEnterprise: row.9, returns: row.10)
                facts.excludedUnits = Set(row.12)
                facts.suggestedUnit = row.13
                var decision = Decision(jobID: job.rawValue, ticketID: id, version: row.14)
                switch planner.plan(facts) {
                case let .dispatch(lead, coHandlers, cc, linkage, ruleID, why):
                    decision.action = "dispatch"
                    decision.plan = PlanRecord(lead: lead, coHandlers: coHandlers, cc: cc, linkage: linkage,
                                               ruleID: ruleID, why: why, category: facts.category)
                case let .dispatcher(reasons, candidates):
                    decision.action = "dispatcher"
                    decision.reasons = reasons
                    decision.candidates = candidates
                }
                decisions.append(decision)
            }
            let written = try await group.client.first(
                "SELECT outcomes, wakeups FROM hotline.record_dispatches(\(group.owner), \(try JSONText.encode(decisions))::jsonb)",
                as: ([String], [String]).self, logger: group.logger)
            // One outcome per decision; GroupCommit refuses a write that returns fewer.
            return GroupWrite(outcomes: zip(decisions, written?.0 ?? []).map { decision, outcome -> GroupOutcome<String> in
                switch outcome {
                case "stale": return .again
                case "skipped": return .done("skipped: \(decision.skipped ?? "")")
                case "dispatched": return .done("dispatched to \(decision.plan?.lead ?? "")")
                default: return .done("dispatcher: \((decision.reasons ?? []).joined(separator: ","))")
                }
            }, wakeups: written?.1 ?? [])
        }
    }

    static func run(_ job: DispatchTicket, _ context: JobContext, model: DispatchModel,
                    group: GroupCommit<(ticketID: Int64, planner: Planner), String>) async throws {
        let planner = try await model.value(context.client, logger: context.logger)
        let outcome = try await group.run((job.ticketID, planner), context)
        context.logger.info("ticket placed", metadata: ["ticket_id": "\(job.ticketID)", "outcome": "\(outcome)"])
    }

    struct PlanRecord: Encodable {
        var lead: String
        var coHandlers: [String]
        var cc: [String]
        var linkage: [String]
        var ruleID: Int?
        var why: String
        var category: String?
    }

    /// One job's entry in `hotline.record_dispatches`' decisions (see sql/0024).
    struct Decision: Encodable {
        var jobID: Int64
        var ticketID: Int64?
        var version: String?
        var action = ""
        var plan: PlanRecord?
        var reasons: [String]?
        var candidates: [DispatchPlan.Candidate]?
        /// The status a skipped ticket had (for the log; not sent).
        var skipped: String?

        enum CodingKeys: String, CodingKey { case jobID = "job_id", ticketID = "ticket_id", version, action, plan, reasons, candidates }

        init(jobID: Int64, ticketID: Int64? = nil, version: String? = nil, action: String = "", skipped: String? = nil) {
            self.jobID = jobID
            self.ticketID = ticketID
            self.version = version
            self.action = action
            self.skipped = skipped
        }
    }
}
