import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// A generic HTTP JSON SMS gateway. Request: `POST url` with `{"ref", "to", "text"}`; `ref` is
/// our idempotency reference. Authentication: a fixed header (`Authorization: Bearer …`), or an
/// HMAC-SHA256 signature over "timestamp\nbody" in `X-Signature` with `X-Timestamp`.
/// Replies: 2xx `{"message_id": "…"}` → sent; 429 (with Retry-After) and 5xx → retry;
/// 401/403 (our credentials) → retry; other 4xx `{"error": "invalid_number", …}` → permanent; a 2xx without a message id, or a timeout
/// after the request was sent → unknown; no connection → retry.
struct HTTPJSONGateway: SMSGateway {
    enum Auth: Sendable {
        case none
        case header(name: String, value: String)
        case hmac(secret: String)
    }

    let name = "http"
    let client: HTTPClient
    let url: String
    let auth: Auth
    let timeout: TimeAmount

    func send(_ message: OutgoingSMS) async -> SendOutcome {
        let body: Data
        do {
            body = try JSONSerialization.data(withJSONObject: ["ref": message.reference, "to": message.phone, "text": message.text],
                                              options: [.sortedKeys])
        } catch {
            return .permanent("cannot encode the message: \(error)")
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "Idempotency-Key", value: message.reference)
        switch auth {
        case .none: break
        case .header(let name, let value): request.headers.add(name: name, value: value)
        case .hmac(let secret):
            let timestamp = String(Int64(Date().timeIntervalSince1970))
            request.headers.add(name: "X-Timestamp", value: timestamp)
            request.headers.add(name: "X-Signature", value: Self.signature(secret: secret, timestamp: timestamp, body: body))
        }
        request.body = .bytes(ByteBuffer(bytes: body))

        let response: HTTPClientResponse
        let reply: ByteBuffer
        do {
            response = try await client.execute(request, timeout: timeout)
            reply = try await response.body.collect(upTo: 64 * 1024)
        } catch {
            return Self.classify(error)
        }
        let text = String(buffer: reply)
        let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        switch response.status.code {
        case 200..<300:
            if let id = json?["message_id"] as? String, !id.isEmpty, id.count <= 200 { return .sent(providerID: id) }
            return .unknown("HTTP \(response.status.code) without a message_id: \(text.prefix(200))")
        case 429:
            let after = response.headers.first(name: "Retry-After").flatMap(Double.init)
            return .transient("HTTP 429 rate limited", retryAfter: after.map { min(max($0, 0), 3600) })
        case 500..<600:
            return .transient("HTTP \(response.status.code): \(text.prefix(200))")
        case 401, 403:
            // Our credentials are wrong: every message would fail alike. Keep them and retry
            // while ops fix the configuration, instead of failing them for good.
            return .transient("HTTP \(response.status.code): the gateway refused our credentials: \(text.prefix(200))")
        case 400..<500:
            let code = json?["error"] as? String ?? "HTTP \(response.status.code)"
            let detail = json?["message"] as? String ?? String(text.prefix(200))
            return .permanent("\(code): \(detail)")
        default:
            return .transient("HTTP \(response.status.code)")
        }
    }

    /// No connection means nothing was sent; anything after the request left may have arrived.
    static func classify(_ error: any Error) -> SendOutcome {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .tlsHandshakeTimeout:
                return .transient("cannot reach the gateway: \(error)")
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return .unknown("no reply in time after sending: \(error)")
            default:
                return .unknown("the exchange broke off: \(error)")
            }
        }
        if error is IOError || error is ChannelError {
            return .transient("cannot reach the gateway: \(error)")
        }
        return .unknown("the exchange broke off: \(error)")
    }

    /// Lower-case hex HMAC-SHA256 of "timestamp\nbody".
    static func signature(secret: String, timestamp: String, body: Data) -> String {
        var signed = Data(timestamp.utf8)
        signed.append(0x0A)
        signed.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }
}
