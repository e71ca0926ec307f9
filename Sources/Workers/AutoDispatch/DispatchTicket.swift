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
    /// Plans tickets and records the plans in group transactions (see `GroupCommit`): a dispatch
    /// round (`hotline.record_dispatch`) or a place in the dispatcher queue per ticket. A ticket
    /// already dispatched, closed or waiting for a dispatcher is left alone.
    static func group() -> GroupCommit<(ticketID: Int64, planner: Planner), String> {
        GroupCommit(maxBatch: 32, bodyDefersWakeups: true) { connection, items, logger in
            let ids = items.map(\.ticketID)
            // Locked (in id order) and then read, in one call: the worker's role needs no UPDATE
            // right, and the read's snapshot follows the locks (sql/0022). The same statement
            // defers the transaction's wake-ups until after its commit (GroupCommit above).
            let rows = try await connection.all("""
                SELECT r.ticket_id, r.status, r.channel, r.content, r.category, r.category_confidence, r.urgency_class, r.district_id,
                       r.street_id, r.is_enterprise, r.returns, r.awaiting_dispatcher, r.returned_by, r.suggested_unit
                  FROM queue.defer_wakeups() d, hotline.lock_for_dispatch(\(ids)::bigint[]) r
                """, as: (Int64, String, String, String, String?, Double, String, Int?, Int?, Bool, Int, Bool, [String], String?).self,
                logger: logger)
            let byID = Dictionary(rows.map { ($0.0, $0) }, uniquingKeysWith: { first, _ in first })
            // Plan here, then record the group with at most two statements: the rounds and the
            // dispatcher-queue entries (one call of the SQL contract per ticket).
            var outcomes: [String] = []
            var rounds: [RecordedPlan] = []
            var queued: [QueuedTicket] = []
            var seen: Set<Int64> = []
            for (id, planner) in items {
                guard let row = byID[id] else { throw JobFailure.permanent("ticket \(id) does not exist") }
                guard ["extracted", "returned", "reopened"].contains(row.1), !row.11, seen.insert(id).inserted else {
                    outcomes.append("skipped: \(row.1)")
                    continue
                }
                var facts = DispatchTicketFacts(channel: row.2, content: row.3, category: row.4, categoryConfidence: row.5,
                                                urgency: row.6, districtID: row.7, streetID: row.8, isEnterprise: row.9, returns: row.10)
                facts.excludedUnits = Set(row.12)
                facts.suggestedUnit = row.13
                switch planner.plan(facts) {
                case let .dispatch(lead, coHandlers, cc, linkage, ruleID, why):
                    rounds.append(RecordedPlan(ticketID: id, plan: PlanRecord(lead: lead, coHandlers: coHandlers, cc: cc, linkage: linkage,
                                                                              ruleID: ruleID, why: why, category: facts.category)))
                    outcomes.append("dispatched to \(lead)")
                case let .dispatcher(reasons, candidates):
                    queued.append(QueuedTicket(ticketID: id, reasons: reasons, candidates: candidates))
                    outcomes.append("dispatcher: \(reasons.joined(separator: ","))")
                }
            }
            if !rounds.isEmpty {
                try await connection.execute("""
                    SELECT hotline.record_dispatch((x->>'ticket_id')::bigint, 'process', 'auto-dispatch', x->'plan')
                      FROM jsonb_array_elements(\(try JSONText.encode(rounds))::jsonb) x
                    """, logger: logger)
            }
            if !queued.isEmpty {
                try await connection.execute("""
                    SELECT hotline.queue_for_dispatcher((x->>'ticket_id')::bigint,
                                                        ARRAY(SELECT jsonb_array_elements_text(x->'reasons')), x->'candidates')
                      FROM jsonb_array_elements(\(try JSONText.encode(queued))::jsonb) x
                    """, logger: logger)
            }
            return outcomes
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

    struct RecordedPlan: Encodable {
        var ticketID: Int64
        var plan: PlanRecord
    }

    struct QueuedTicket: Encodable {
        var ticketID: Int64
        var reasons: [String]
        var candidates: [DispatchPlan.Candidate]
    }
}
