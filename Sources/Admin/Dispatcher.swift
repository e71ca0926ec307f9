import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Shared

/// `hotline dispatcher`: the human dispatcher's desk — tickets the fleet would not guess about
/// (unclear responsibility, low confidence, buck-passing), with the reasons and the scored
/// candidates; `--decide` places one (`hotline.dispatcher_decide`, which also teaches the
/// classifier the chosen category).
struct Dispatcher: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List tickets waiting for a human dispatcher, or --decide one.")
    @OptionGroup var connection: Connection
    @Option(help: "Place this ticket (its id).") var decide: Int64?
    @Option(help: "With --decide: the category's full label (level1/level2/level3).") var category: String?
    @Option(help: "With --decide: the lead unit's code.") var lead: String?
    @Option(name: .customLong("co"), help: "With --decide: a co-handler's unit code (repeatable).") var coHandlers: [String] = []
    @Option(help: "With --decide: a unit to cc (repeatable).") var cc: [String] = []
    @Option(help: "With --decide: who decides (recorded in the ticket's history).") var person: String?
    @Option(help: "Rows to list.") var limit = 20

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1–1000") }
        if decide != nil {
            guard category != nil, lead != nil, let person, !person.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--decide needs --category, --lead and --person")
            }
        } else if category != nil || lead != nil || !coHandlers.isEmpty || !cc.isEmpty {
            throw ValidationError("--category, --lead, --co and --cc go with --decide")
        }
    }

    func run() async throws {
        let (decide, category, lead, coHandlers, cc, person, limit) = (self.decide, category, lead, coHandlers, cc, person, self.limit)
        try await connection.withClient { client, logger in
            if let decide, let category, let lead, let person {
                let round = try await client.first("""
                    SELECT hotline.dispatcher_decide(\(decide), \(person), \(category), \(lead), \(coHandlers)::text[], \(cc)::text[])
                    """, as: Int.self, logger: logger)
                print("ticket \(decide) dispatched to \(lead) (round \(round ?? 0)); its category is now a training example")
                return
            }
            let rows = try await client.all("""
                SELECT t.id, t.ticket_no, array_to_string(q.reasons, ','),
                       coalesce((SELECT string_agg((c->>'unit') || ' ' || round((c->>'score')::numeric, 2), ', ')
                                   FROM jsonb_array_elements(q.candidates) c), '-'),
                       to_char(now() - q.queued_at, 'HH24:MI'), left(t.content, 40)
                  FROM hotline.dispatcher_queue q JOIN hotline.tickets t ON t.id = q.ticket_id
                 WHERE q.status = 'waiting' ORDER BY q.queued_at LIMIT \(limit)
                """, as: (Int64, String, String, String, String, String).self, logger: logger)
            print(Table(["id", "ticket", "why", "candidates (score)", "waiting", "content"],
                        rows.map { ["\($0.0)", $0.1, $0.2, $0.3, $0.4, $0.5] }).render())
        }
    }
}
