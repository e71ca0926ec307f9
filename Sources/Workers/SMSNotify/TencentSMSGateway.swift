import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Tencent Cloud API signature v3 (TC3-HMAC-SHA256), as Tencent's "Signature v3" page specifies
/// it: a canonical request over the exact payload bytes, a string to sign with the UTC date's
/// credential scope, and a key derived as HMAC chains of "TC3"+SecretKey → date → service →
/// "tc3_request". Tested against the page's worked example.
enum TC3Signer {
    struct Signed: Equatable {
        let canonicalRequest: String
        let stringToSign: String
        let signature: String
        let authorization: String
    }

    /// `signedAction`: also sign the `x-tc-action` header (the current documentation does;
    /// older revisions signed only content-type and host).
    static func sign(secretID: String, secretKey: String, service: String, host: String, action: String,
                     timestamp: Int64, payload: Data, contentType: String = "application/json; charset=utf-8",
                     signedAction: Bool = true) -> Signed {
        var canonicalHeaders = "content-type:\(contentType)\nhost:\(host)\n"
        var signedHeaders = "content-type;host"
        if signedAction {
            canonicalHeaders += "x-tc-action:\(action.lowercased())\n"
            signedHeaders += ";x-tc-action"
        }
        let canonicalRequest = ["POST", "/", "", canonicalHeaders, signedHeaders, hex(SHA256.hash(data: payload))].joined(separator: "\n")
        let date = utcDate(timestamp)
        let scope = "\(date)/\(service)/tc3_request"
        let stringToSign = ["TC3-HMAC-SHA256", String(timestamp), scope, hex(SHA256.hash(data: Data(canonicalRequest.utf8)))]
            .joined(separator: "\n")
        let secretDate = hmac(Data("TC3\(secretKey)".utf8), date)
        let secretService = hmac(secretDate, service)
        let secretSigning = hmac(secretService, "tc3_request")
        let signature = hex(hmac(secretSigning, stringToSign))
        let authorization = "TC3-HMAC-SHA256 Credential=\(secretID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signed(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature, authorization: authorization)
    }

    static func utcDate(_ timestamp: Int64) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: TimeInterval(timestamp)))
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    private static func hmac(_ key: Data, _ message: String) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: key)))
    }

    private static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// Tencent Cloud SMS, `SendSms` of API version 2021-01-11. Carriers only deliver templates
/// registered in advance, so each of our template codes maps to a Tencent TemplateId and the
/// order of its parameters (`{link}` included where the registered template has it).
struct TencentSMSGateway: SMSGateway {
    struct Template: Sendable, Equatable, Decodable {
        let id: String
        let params: [String]
    }

    let name = "tencent"
    let client: HTTPClient
    let endpoint: String
    let host: String
    let secretID: String
    let secretKey: String
    let region: String
    let sdkAppID: String
    let signName: String
    let templates: [String: Template]
    let timeout: TimeAmount

    /// The JSON body for one message, or why it cannot be sent through Tencent.
    func payload(for message: OutgoingSMS) -> Result<Data, SendFailure> {
        guard message.phone.count == 11, message.phone.hasPrefix("1") else {
            return .failure(SendFailure("Tencent SMS reaches mobile numbers only, not \(message.phone)"))
        }
        guard let template = templates[message.template] else {
            return .failure(SendFailure("template \(message.template) is not registered with Tencent (HOTLINE_TENCENT_TEMPLATES)"))
        }
        var values: [String] = []
        for name in template.params {
            if name == "link", let link = message.link {
                values.append(link)
            } else if let value = message.variables[name] {
                values.append(value)
            } else {
                return .failure(SendFailure("template \(message.template): no value for Tencent parameter \(name)"))
            }
        }
        let body: [String: Any] = [
            "PhoneNumberSet": ["+86" + message.phone], "SmsSdkAppId": sdkAppID, "SignName": signName,
            "TemplateId": template.id, "TemplateParamSet": values, "SessionContext": message.reference,
        ]
        do {
            return .success(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
        } catch {
            return .failure(SendFailure("cannot encode: \(error)"))
        }
    }

    struct SendFailure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    func send(_ message: OutgoingSMS) async -> SendOutcome {
        let body: Data
        switch payload(for: message) {
        case .success(let data): body = data
        case .failure(let failure): return .permanent(failure.reason)
        }
        let timestamp = Int64(Date().timeIntervalSince1970)
        let signed = TC3Signer.sign(secretID: secretID, secretKey: secretKey, service: "sms", host: host, action: "SendSms",
                                    timestamp: timestamp, payload: body)
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Authorization", value: signed.authorization)
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "Host", value: host)
        request.headers.add(name: "X-TC-Action", value: "SendSms")
        request.headers.add(name: "X-TC-Timestamp", value: String(timestamp))
        request.headers.add(name: "X-TC-Version", value: "2021-01-11")
        request.headers.add(name: "X-TC-Region", value: region)
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: timeout)
            let reply = try await response.body.collect(upTo: 64 * 1024)
            return Self.classify(status: Int(response.status.code), body: Data(reply.readableBytesView))
        } catch {
            return HTTPJSONGateway.classify(error)
        }
    }

    /// Tencent answers 200 with either `Response.Error` (the call was refused) or one
    /// `SendStatusSet` entry per number (`Code` "Ok", or why that number failed).
    static func classify(status: Int, body: Data) -> SendOutcome {
        guard (200..<300).contains(status) else {
            return status >= 500 || status == 429 ? .transient("HTTP \(status)") : .permanent("HTTP \(status)")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
              let response = json["Response"] as? [String: Any] else {
            return .unknown("reply is not a Tencent Response: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        if let error = response["Error"] as? [String: Any] {
            let code = error["Code"] as? String ?? "?"
            let text = "\(code): \(error["Message"] as? String ?? "")"
            if accountProblem(code) { return .transient(text, retryAfter: 600) }
            return refused(code) ? .permanent(text) : .transient(text)
        }
        guard let statuses = response["SendStatusSet"] as? [[String: Any]], let first = statuses.first,
              let code = first["Code"] as? String else {
            return .unknown("reply without SendStatusSet: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        if code == "Ok", let serial = first["SerialNo"] as? String, !serial.isEmpty {
            return .sent(providerID: serial)
        }
        let text = "\(code): \(first["Message"] as? String ?? "")"
        if code.hasPrefix("LimitExceeded") { return .transient(text, retryAfter: 3600) }
        if accountProblem(code) { return .transient(text, retryAfter: 600) }
        return refused(code) ? .permanent(text) : .transient(text)
    }

    /// Codes about our account, signature, templates or whitelist: every message would fail
    /// alike until ops fix it, so messages wait instead of failing for good.
    static func accountProblem(_ code: String) -> Bool {
        code.hasPrefix("UnauthorizedOperation") || code.hasPrefix("AuthFailure") || [
            "FailedOperation.InsufficientBalanceInSmsPackage", "FailedOperation.SignatureIncorrectOrUnapproved",
            "FailedOperation.TemplateIncorrectOrUnapproved", "FailedOperation.MissingSignature",
            "FailedOperation.MissingSignatureList", "FailedOperation.MissingTemplateList", "FailedOperation.TemplateUnapprovedOrNotExist",
        ].contains(code)
    }

    /// Codes that mean this message, as it is, will never go through.
    static func refused(_ code: String) -> Bool {
        ["FailedOperation", "InvalidParameter", "InvalidParameterValue", "MissingParameter", "UnsupportedOperation", "UnauthorizedOperation"]
            .contains { code == $0 || code.hasPrefix($0 + ".") }
    }
}
