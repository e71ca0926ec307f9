import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Shared

/// `hotline replay <ticket>`: a ticket's whole event history in order — local time, actor,
/// event, the details summarised — and whether its hash chain is intact
/// (`hotline.verify_ticket_chain`). Exit 0 when intact, 3 when the chain is broken.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A ticket's event history in order, and a check of its hash chain (exit 3 when broken).")
    @OptionGroup var connection: Connection
    @Argument(help: "The ticket's id or its ticket number (e.g. 42 or 2026112500000042).") var ticket: String
    @Option(help: "Widest details column, in characters.") var width = 110

    /// The exit code for a broken chain (distinct from usage errors and failures).
    static let brokenChainExitCode: Int32 = 3

    func validate() throws {
        guard ticket.wholeMatch(of: /[0-9]{1,20}/) != nil else {
            throw ValidationError("'\(ticket.prefix(40))' is neither a ticket id nor a ticket number (digits only)")
        }
        guard (40...1000).contains(width) else { throw ValidationError("--width must be 40–1000") }
    }

    func run() async throws {
        let ticket = self.ticket, width = self.width
        let broken = try await connection.withClient { client, logger -> Bool in
            guard let head = try await client.first("""
                SELECT t.id, t.ticket_no, t.channel, t.status, coalesce(c.label, '-'), coalesce(t.urgency_class, '-'),
                       hotline.setting('time_zone') #>> '{}', left(t.content, 120)
                  FROM hotline.tickets t LEFT JOIN hotline.categories c ON c.id = t.category_id
                 WHERE t.ticket_no = \(ticket) OR t.id = \(Int64(ticket))
                 ORDER BY (t.ticket_no = \(ticket)) DESC LIMIT 1
                """, as: (Int64, String, String, String, String, String, String, String).self, logger: logger) else {
                throw ReplayError(message: "no ticket with id or number \(ticket)")
            }
            let (id, number, channel, status, category, urgency, zone, content) = head
            print("ticket \(number) (id \(id)) from \(channel), now \(status); \(urgency), \(category)")
            print("  \(content)")
            print()
            let events = try await client.all("""
                SELECT seq, to_char(at AT TIME ZONE \(zone), 'YYYY-MM-DD HH24:MI:SS.MS'), actor_kind, actor, event, details::text
                  FROM hotline.ticket_event_log WHERE ticket_id = \(id) ORDER BY seq
                """, as: (Int, String, String, String, String, String).self, logger: logger)
            let summary = EventSummary(zone: TimeZone(identifier: zone) ?? .current, width: width)
            print(Table(["#", "time (\(zone))", "actor", "event", "details"],
                        events.map { event in
                            ["\(event.0)", event.1, summary.actor(kind: event.2, name: event.3, details: event.5), event.4,
                             summary.details(event.5)]
                        }).render())
            print()
            guard let check = try await client.first("""
                SELECT ok, events_checked, first_bad_seq, coalesce(problem, '') FROM hotline.verify_ticket_chain(\(id))
                """, as: (Bool, Int, Int?, String).self, logger: logger) else {
                throw ReplayError(message: "hotline.verify_ticket_chain returned nothing for ticket \(id)")
            }
            if check.0 {
                print("hash chain: OK (\(check.1) events)")
                return false
            }
            print("hash chain: BROKEN at event \(check.2.map(String.init) ?? "?") of \(events.count): \(check.3)")
            return true
        }
        if broken { throw ExitCode(Self.brokenChainExitCode) }
    }
}

struct ReplayError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Turns an event's JSON details into one readable line: the keys people look for first, short
/// values, timestamps in the configured zone, nested values abbreviated.
struct EventSummary {
    let zone: TimeZone
    let width: Int

    /// Keys shown first, in this order; the rest follow alphabetically.
    static let leading = ["by", "unit", "role", "round", "lead", "co_handlers", "cc", "units", "trigger", "level", "timer", "point",
                          "due_at", "category", "urgency", "urgency_class", "district", "street", "reason", "basis", "suggested_unit",
                          "result", "resolved", "satisfaction", "reply", "survey_id", "why", "external_id"]
    /// Bulky keys not worth a line (still in the event, and in the chain).
    static let skipped: Set<String> = ["kb_articles", "rules", "scores", "candidates", "features"]

    func actor(kind: String, name: String, details: String) -> String {
        if case .text(let person)? = parse(details)?["by"] { return "\(kind) \(name) (\(person))" }
        return "\(kind) \(name)"
    }

    func details(_ json: String) -> String {
        guard let object = parse(json) else { return Self.clip(json, width) }
        let keys = Self.leading.filter { object[$0] != nil && $0 != "by" }
            + object.keys.filter { !Self.leading.contains($0) && !Self.skipped.contains($0) }.sorted()
        var parts: [String] = []
        for key in keys {
            guard let value = object[key], value != .null else { continue }
            parts.append("\(key)=\(render(value))")
        }
        return Self.clip(parts.joined(separator: " "), width)
    }

    private func parse(_ json: String) -> [String: JSONValue]? {
        try? JSONDecoder().decode([String: JSONValue].self, from: Data(json.utf8))
    }

    private func render(_ value: JSONValue) -> String {
        switch value {
        case .text(let text): localTime(text) ?? Self.clip(text, 40)
        case .bool(let flag): flag ? "yes" : "no"
        case .number(let number): number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .null: "-"
        case .list(let list):
            "[" + list.prefix(4).map { render($0) }.joined(separator: ",") + (list.count > 4 ? ",…+\(list.count - 4)" : "") + "]"
        case .object(let object):
            "{" + object.keys.sorted().prefix(3).joined(separator: ",") + (object.count > 3 ? ",…" : "") + "}"
        }
    }

    /// An ISO timestamp from a jsonb timestamptz, shown as local month-day time.
    private func localTime(_ text: String) -> String? {
        guard text.count >= 19, text.count <= 35, text.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+([+-][0-9:]+|Z)/) != nil else { return nil }
        var trimmed = text
        // Foundation's ISO parser wants at most milliseconds and a colon in the offset.
        if let dot = trimmed.firstIndex(of: "."), let end = trimmed[dot...].firstIndex(where: { $0 == "+" || $0 == "-" || $0 == "Z" }) {
            let fraction = trimmed[trimmed.index(after: dot)..<end]
            trimmed = String(trimmed[..<dot]) + "." + String((fraction + "000").prefix(3)) + String(trimmed[end...])
        }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = trimmed.contains(".") ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        guard let date = parser.date(from: trimmed) else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    static func clip(_ text: String, _ limit: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= limit ? flat : String(flat.prefix(limit - 1)) + "…"
    }
}

/// Any JSON value, for reading event details of every shape.
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), text(String), list([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let flag = try? container.decode(Bool.self) { self = .bool(flag) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else if let text = try? container.decode(String.self) { self = .text(text) }
        else if let list = try? container.decode([JSONValue].self) { self = .list(list) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }
}
