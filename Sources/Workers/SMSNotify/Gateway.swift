import Foundation

/// One message as SMS-notify hands it to a gateway. `reference` is stable across resends of the
/// same outbox row, so a provider that honours it never delivers a message twice.
struct OutgoingSMS: Sendable, Equatable {
    let id: Int64
    let phone: String
    /// The rendered text, the signed link filled in.
    let text: String
    /// For gateways that send registered templates instead of text (Tencent).
    var template: String = ""
    var variables: [String: String] = [:]
    var link: String?

    var reference: String { "hotline-\(id)" }
}

/// What became of one send.
enum SendOutcome: Sendable, Equatable {
    /// Accepted; the provider's id for receipts.
    case sent(providerID: String)
    /// Not sent this time (busy, 5xx, connection refused): retry, after `retryAfter` when given.
    case transient(String, retryAfter: Double? = nil)
    /// Will never be sent as it is (invalid number, rejected template): the reason is kept.
    case permanent(String)
    /// The provider may or may not have it (a timeout after the request went out, a garbled
    /// 2xx reply): resolved by `sms.unknown_policy`.
    case unknown(String)
}

/// A way to send text messages. Implementations never throw: every failure is an outcome.
protocol SMSGateway: Sendable {
    var name: String { get }
    func send(_ message: OutgoingSMS) async -> SendOutcome
}

/// The demo's gateway: appends one JSON line per message to a file.
actor FileSinkGateway: SMSGateway {
    nonisolated let name = "file"
    private let handle: FileHandle

    init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
    }

    func send(_ message: OutgoingSMS) async -> SendOutcome {
        let line: [String: String] = ["ref": message.reference, "to": message.phone, "text": message.text,
                                      "at": Date().formatted(.iso8601)]
        do {
            var data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            data.append(0x0A)
            try handle.write(contentsOf: data)
            return .sent(providerID: "file-\(message.id)")
        } catch {
            return .transient("cannot write the sink file: \(error)")
        }
    }
}
