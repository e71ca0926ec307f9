import Foundation
import Logging
import Metrics
import PostgresNIO
import Shared

/// Sends the outbox: claims due messages under a lease (one committed statement), fills in each
/// handler's signed link, sends up to `concurrency` at a time through the gateway, and records
/// every outcome in one statement. A crash after the claim leaves the lease to expire; the next
/// claim marks those messages unknown and resolves them by policy — nothing is lost, nothing is
/// sent twice without the same idempotency reference.
struct OutboxSender: Sendable {
    var owner: String
    var gateway: any SMSGateway
    var links: SignedLink
    var linkLifetime: Duration
    var batch: Int
    var concurrency: Int
    var lease: Duration
    var idleLook: Duration

    private func outcomes(_ kind: String) -> Counter { Counter(label: "hotline_sms_sent_total", dimensions: [("outcome", kind)]) }
    private let segments = Counter(label: "hotline_sms_segments_total")
    /// Messages whose outcome is unknown and that wait for a person (hold policy, or attempts spent).
    private let unknownWaiting = Gauge(label: "hotline_sms_unknown_waiting")

    init(owner: String, gateway: any SMSGateway, links: SignedLink, linkLifetime: Duration = .seconds(7 * 86_400),
         batch: Int = 100, concurrency: Int = 32, lease: Duration = .seconds(60), idleLook: Duration = .seconds(30)) {
        self.owner = owner
        self.gateway = gateway
        self.links = links
        self.linkLifetime = linkLifetime
        self.batch = batch
        self.concurrency = concurrency
        self.lease = lease
        self.idleLook = idleLook
    }

    struct Claimed: Sendable {
        let id: Int64
        let phone: String
        let body: String
        var template: String = ""
        var variables: [String: String] = [:]
        let ticketNo: String?
        let unit: String?
    }

    func step(_ client: PostgresClient, _ logger: Logger) async throws -> Duration {
        let claimed = try await client.all("""
            SELECT id, phone, body, template, variables, ticket_no, unit_code FROM hotline.claim_sms(\(owner), \(batch)::int, \(lease.seconds)::float8)
            """, as: (Int64, String, String, String, String, String?, String?).self, logger: logger)
            .map { Claimed(id: $0.0, phone: $0.1, body: $0.2, template: $0.3, variables: Self.strings($0.4), ticketNo: $0.5, unit: $0.6) }
        guard !claimed.isEmpty else {
            let row = try await client.first("SELECT next_in, unknown FROM hotline.sms_outlook()", as: (Double?, Int).self, logger: logger)
            unknownWaiting.record(row?.1 ?? 0)
            guard let next = row?.0 else { return idleLook }
            // Due but not claimed: the second's budget is spent or another process holds them.
            if next <= 0 { return .milliseconds(100) }
            return min(.milliseconds(Int64((next * 1000).rounded(.up))), idleLook)
        }
        let results = await send(claimed)
        let json = try JSONText.encode(results.map { Result(id: $0.0, outcome: $0.1, segments: $0.2) })
        try await record(json, client, logger)
        return .zero
    }

    /// The outcomes are facts about messages already sent: keep trying to record them (it is
    /// safe to repeat) rather than move on and let their leases expire into resends.
    private func record(_ json: String, _ client: PostgresClient, _ logger: Logger) async throws {
        var failures = 0
        while true {
            do {
                _ = try await client.first("SELECT hotline.record_sms_results(\(owner), \(json)::jsonb)", as: Int.self, logger: logger)
                return
            } catch {
                failures += 1
                if failures >= 30 { throw error }
                logger.warning("could not record sending outcomes; retrying", metadata: ["error": "\(DatabaseError(error))", "failures": "\(failures)"])
                try? await Task.sleep(for: Backoff.delay(afterFailures: failures))
            }
        }
    }

    /// The message as sent: the template's {link} becomes the handler's signed link.
    func outgoing(_ message: Claimed, now: Date = Date()) -> OutgoingSMS {
        var link: String?
        if let ticket = message.ticketNo, let unit = message.unit {
            link = links.make(ticketNo: ticket, unit: unit, expires: now.addingTimeInterval(linkLifetime.seconds))
        }
        let text = message.body.replacingOccurrences(of: "{link}", with: link ?? links.base)
        return OutgoingSMS(id: message.id, phone: message.phone, text: text, template: message.template,
                           variables: message.variables, link: link)
    }

    /// A template's variables (a JSON object of strings and numbers) as text.
    static func strings(_ json: String) -> [String: String] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return [:] }
        return object.compactMapValues { value in
            switch value {
            case let text as String: text
            case let number as NSNumber: number.stringValue
            default: nil
            }
        }
    }

    private func send(_ claimed: [Claimed]) async -> [(Int64, SendOutcome, Int)] {
        await withTaskGroup(of: (Int64, SendOutcome, Int).self) { group in
            var results: [(Int64, SendOutcome, Int)] = []
            var next = claimed.makeIterator()
            func start(_ message: Claimed) {
                let outgoing = self.outgoing(message)
                group.addTask {
                    let outcome = await self.gateway.send(outgoing)
                    return (message.id, outcome, Self.segments(outgoing.text))
                }
            }
            for _ in 0..<concurrency { if let message = next.next() { start(message) } }
            while let result = await group.next() {
                results.append(result)
                record(result.1, segments: result.2)
                if let message = next.next() { start(message) }
            }
            return results
        }
    }

    private func record(_ outcome: SendOutcome, segments count: Int) {
        switch outcome {
        case .sent:
            outcomes("sent").increment()
            segments.increment(by: count)
        case .transient: outcomes("transient").increment()
        case .permanent: outcomes("permanent").increment()
        case .unknown: outcomes("unknown").increment()
        }
    }

    /// Chinese carrier segments: 70 characters in one message, 67 per part beyond; GSM text 160 / 153.
    static func segments(_ text: String) -> Int {
        let gsm = text.unicodeScalars.allSatisfy { $0.isASCII }
        let count = gsm ? text.unicodeScalars.count : text.count
        let (single, part) = gsm ? (160, 153) : (70, 67)
        return count <= single ? 1 : (count + part - 1) / part
    }

    /// One row of `hotline.record_sms_results`.
    struct Result: Encodable {
        let id: Int64
        let outcome: String
        let providerID: String?
        let error: String?
        let retryAfter: Double?
        let segments: Int

        init(id: Int64, outcome: SendOutcome, segments: Int) {
            self.id = id
            self.segments = segments
            switch outcome {
            case .sent(let provider): (self.outcome, providerID, error, retryAfter) = ("sent", provider, nil, nil)
            case .transient(let why, let after): (self.outcome, providerID, error, retryAfter) = ("transient", nil, why, after)
            case .permanent(let why): (self.outcome, providerID, error, retryAfter) = ("permanent", nil, why, nil)
            case .unknown(let why): (self.outcome, providerID, error, retryAfter) = ("unknown", nil, why, nil)
            }
        }
    }
}
