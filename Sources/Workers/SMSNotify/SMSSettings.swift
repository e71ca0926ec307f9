import AsyncHTTPClient
import Foundation
import NIOCore
import ServiceLifecycle
import Shared

/// SMS-notify's own settings (environment; a bad value stops the process at start).
///
/// | variable | default | meaning |
/// |---|---|---|
/// | HOTLINE_SMS_GATEWAY | (required) | `file:PATH` (append JSON lines; the demo), `http` or `tencent` |
/// | HOTLINE_SMS_URL | — | the HTTP JSON gateway's address (with `http`) |
/// | HOTLINE_SMS_AUTH_HEADER | — | e.g. `Authorization: Bearer …` |
/// | HOTLINE_SMS_HMAC_SECRET | — | sign each request (X-Timestamp, X-Signature) instead |
/// | HOTLINE_SMS_TIMEOUT_SECONDS | 5 | one request, 0.1…120 |
/// | HOTLINE_SMS_BATCH / HOTLINE_SMS_CONCURRENCY | 100 / 32 | messages per claim / requests in flight |
/// | HOTLINE_SMS_LEASE_SECONDS | 60 | a claim's lease; after it, an unfinished send's outcome is unknown |
/// | HOTLINE_SMS_IDLE_SECONDS | 30 | the longest sleep without a look |
/// | HOTLINE_LINK_BASE / HOTLINE_LINK_SECRET | https://12345.xa.gov.cn/h / (required) | the handling app's address and the links' signing key |
/// | HOTLINE_LINK_TTL_HOURS | 168 | how long a handler's link works |
/// | HOTLINE_TENCENT_SECRET_ID / _SECRET_KEY / _SDK_APP_ID / _SIGN_NAME | (required with `tencent`) | Tencent Cloud SMS account |
/// | HOTLINE_TENCENT_TEMPLATES | (required with `tencent`) | `{"dispatch.lead": {"id": "1110", "params": ["unit", "ticket_no", "link"]}, …}` |
/// | HOTLINE_TENCENT_REGION / _ENDPOINT | ap-guangzhou / https://sms.tencentcloudapi.com | |
struct SMSSettings: Sendable {
    struct Tencent: Sendable {
        var secretID: String
        var secretKey: String
        var sdkAppID: String
        var signName: String
        var region: String
        var endpoint: String
        var templates: [String: TencentSMSGateway.Template]
    }

    enum Gateway: Sendable {
        case file(String)
        case http(url: String, auth: HTTPJSONGateway.Auth, timeout: Double)
        case tencent(Tencent, timeout: Double)
    }

    var gateway: Gateway
    var batch: Int
    var concurrency: Int
    var lease: Duration
    var idleLook: Duration
    var links: SignedLink
    var linkLifetime: Duration

    init(environment env: EnvironmentReader) throws {
        guard let kind = env.string("HOTLINE_SMS_GATEWAY") else {
            throw ConfigurationError(variable: "HOTLINE_SMS_GATEWAY", message: "not set; expected file:PATH or http")
        }
        if kind.hasPrefix("file:") {
            let path = String(kind.dropFirst(5))
            guard !path.isEmpty else { throw ConfigurationError(variable: "HOTLINE_SMS_GATEWAY", message: "file: needs a path") }
            gateway = .file(path)
        } else if kind == "http" {
            guard let url = env.string("HOTLINE_SMS_URL"), let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""),
                  parsed.host != nil else {
                throw ConfigurationError(variable: "HOTLINE_SMS_URL", message: "an http(s) address is required with HOTLINE_SMS_GATEWAY=http")
            }
            var auth = HTTPJSONGateway.Auth.none
            if let header = try env.secret("HOTLINE_SMS_AUTH_HEADER") {
                let parts = header.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw ConfigurationError(variable: "HOTLINE_SMS_AUTH_HEADER", message: "expected 'Name: value'")
                }
                auth = .header(name: parts[0], value: parts[1])
            }
            if let secret = try env.secret("HOTLINE_SMS_HMAC_SECRET") {
                guard case .none = auth else {
                    throw ConfigurationError(variable: "HOTLINE_SMS_HMAC_SECRET", message: "give either an auth header or an HMAC secret, not both")
                }
                guard secret.utf8.count >= 16 else { throw ConfigurationError(variable: "HOTLINE_SMS_HMAC_SECRET", message: "must be at least 16 characters") }
                auth = .hmac(secret: secret)
            }
            let timeout = try env.seconds("HOTLINE_SMS_TIMEOUT_SECONDS", default: 5, in: 0.1...120)
            gateway = .http(url: url, auth: auth, timeout: timeout.seconds)
        } else if kind == "tencent" {
            func required(_ name: String) throws -> String {
                guard let value = try env.secret(name) else { throw ConfigurationError(variable: name, message: "required with HOTLINE_SMS_GATEWAY=tencent") }
                return value
            }
            let templatesJSON = try required("HOTLINE_TENCENT_TEMPLATES")
            let templates: [String: TencentSMSGateway.Template]
            do {
                templates = try JSONDecoder().decode([String: TencentSMSGateway.Template].self, from: Data(templatesJSON.utf8))
            } catch {
                throw ConfigurationError(variable: "HOTLINE_TENCENT_TEMPLATES",
                                         message: #"expected {"template.code": {"id": "…", "params": ["variable", …]}, …}"#)
            }
            let endpoint = env.string("HOTLINE_TENCENT_ENDPOINT") ?? "https://sms.tencentcloudapi.com"
            guard URL(string: endpoint)?.host != nil else {
                throw ConfigurationError(variable: "HOTLINE_TENCENT_ENDPOINT", message: "'\(endpoint)' is not an address")
            }
            gateway = .tencent(Tencent(secretID: try required("HOTLINE_TENCENT_SECRET_ID"), secretKey: try required("HOTLINE_TENCENT_SECRET_KEY"),
                                       sdkAppID: try required("HOTLINE_TENCENT_SDK_APP_ID"), signName: try required("HOTLINE_TENCENT_SIGN_NAME"),
                                       region: env.string("HOTLINE_TENCENT_REGION") ?? "ap-guangzhou", endpoint: endpoint, templates: templates),
                               timeout: try env.seconds("HOTLINE_SMS_TIMEOUT_SECONDS", default: 5, in: 0.1...120).seconds)
        } else {
            throw ConfigurationError(variable: "HOTLINE_SMS_GATEWAY", message: "'\(kind)' is not file:PATH, http or tencent")
        }
        batch = try env.int("HOTLINE_SMS_BATCH", default: 100, in: 1...1000)
        concurrency = try env.int("HOTLINE_SMS_CONCURRENCY", default: 32, in: 1...1000)
        lease = try env.seconds("HOTLINE_SMS_LEASE_SECONDS", default: 60, in: 1...3600)
        idleLook = try env.seconds("HOTLINE_SMS_IDLE_SECONDS", default: 30, in: 0.05...3600)
        // A claim's messages must all be sent and recorded within its lease, or another sender
        // takes them over as unknown and sends them again.
        let timeoutSeconds: Double = switch gateway {
        case .file: 1
        case .http(_, _, let timeout), .tencent(_, let timeout): timeout
        }
        let waves = Double((batch + concurrency - 1) / concurrency)
        let needed = 2 * waves * timeoutSeconds + 10
        guard lease.seconds >= needed else {
            throw ConfigurationError(variable: "HOTLINE_SMS_LEASE_SECONDS", message: String(format:
                "%.0f s is too short: %d messages per claim, %d at a time, %.1f s timeout need at least %.0f s (2 × waves × timeout + 10 s)",
                lease.seconds, batch, concurrency, timeoutSeconds, needed.rounded(.up)))
        }
        guard let secret = try env.secret("HOTLINE_LINK_SECRET") else {
            throw ConfigurationError(variable: "HOTLINE_LINK_SECRET", message: "not set; handlers' links must be signed (16+ characters)")
        }
        links = try SignedLink(base: env.string("HOTLINE_LINK_BASE") ?? "https://12345.xa.gov.cn/h", secret: secret)
        linkLifetime = .seconds(try env.int("HOTLINE_LINK_TTL_HOURS", default: 168, in: 1...8760) * 3600)
    }
}

/// Shuts the process's HTTP client down when the process drains.
struct HTTPClientLifetime: Service {
    let client: HTTPClient
    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
