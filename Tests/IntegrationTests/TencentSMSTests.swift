import AsyncHTTPClient
import Foundation
import NIOCore
@testable import SMSNotify
import Testing

/// The Tencent Cloud SMS gateway without a network: the TC3-HMAC-SHA256 signature reproduced
/// from the worked example on Tencent's "Signature v3" page, the SendSms request built from our
/// outbox rows, and the documented replies classified.
@Suite("Tencent SMS")
struct TencentSMSTests {
    /// The documentation's example request (CVM DescribeInstances, 2019-02-25).
    static let payload = Data(#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#.utf8)

    @Test func theSignatureMatchesTheDocumentedExampleSigningContentTypeAndHost() {
        let signed = TC3Signer.sign(secretID: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                                    service: "cvm", host: "cvm.tencentcloudapi.com", action: "DescribeInstances",
                                    timestamp: 1_551_113_065, payload: Self.payload, signedAction: false)
        #expect(signed.canonicalRequest == "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
        #expect(signed.stringToSign == "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031")
        #expect(signed.signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")
        #expect(signed.authorization == "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")
    }

    @Test func theSignatureMatchesTheRevisedExampleThatAlsoSignsTheAction() {
        let signed = TC3Signer.sign(secretID: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", secretKey: "Gu5t9xGARNpq86cd98joQYCN3*******",
                                    service: "cvm", host: "cvm.tencentcloudapi.com", action: "DescribeInstances",
                                    timestamp: 1_551_113_065, payload: Self.payload)
        #expect(signed.stringToSign.hasSuffix("7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"))
        #expect(signed.signature == "be4f67d323c78ab9acb7395e43c0dbcf822a9cfac32fea2449a7bc7726b770a3")
        #expect(signed.authorization.contains("SignedHeaders=content-type;host;x-tc-action,"))
    }

    static func gateway() -> TencentSMSGateway {
        TencentSMSGateway(client: HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup), endpoint: "https://sms.tencentcloudapi.com",
                          host: "sms.tencentcloudapi.com", secretID: "id", secretKey: "key", region: "ap-guangzhou",
                          sdkAppID: "1400006666", signName: "西安12345",
                          templates: ["sla.urging": .init(id: "2001", params: ["unit", "ticket_no", "what", "due", "link"])],
                          timeout: .seconds(5))
    }

    @Test func aRowBecomesASendSmsRequestWithItsRegisteredTemplate() throws {
        let gateway = Self.gateway()
        defer { try? gateway.client.syncShutdown() }
        let message = OutgoingSMS(id: 42, phone: "13800138000", text: "…", template: "sla.urging",
                                  variables: ["unit": "城管局", "ticket_no": "20261125-000001", "what": "签收", "due": "11-25 10:00"],
                                  link: "https://12345.xa.gov.cn/h?t=1")
        let body = try gateway.payload(for: message).get()
        let json = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(json["PhoneNumberSet"] as? [String] == ["+8613800138000"])
        #expect(json["TemplateId"] as? String == "2001" && json["SmsSdkAppId"] as? String == "1400006666")
        #expect(json["TemplateParamSet"] as? [String] == ["城管局", "20261125-000001", "签收", "11-25 10:00", "https://12345.xa.gov.cn/h?t=1"])
        #expect(json["SessionContext"] as? String == "hotline-42", "our reference comes back in receipts")

        guard case .failure = gateway.payload(for: OutgoingSMS(id: 1, phone: "13800138000", text: "x", template: "callback.survey")) else {
            Issue.record("a template not registered with Tencent must not be sent")
            return
        }
        guard case .failure = gateway.payload(for: OutgoingSMS(id: 1, phone: "02988886666", text: "x", template: "sla.urging")) else {
            Issue.record("a landline cannot get an SMS")
            return
        }
    }

    @Test(arguments: [
        (#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":"+8618501234444","Fee":1,"SessionContext":"x","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"a0aabda6"}}"#,
         SendOutcome.sent(providerID: "5000:1045710669157053657849499619")),
        (#"{"Response":{"SendStatusSet":[{"SerialNo":"","PhoneNumber":"+8618501234444","Fee":0,"SessionContext":"","Code":"FailedOperation.TemplateParamSetNotMatchApprovedTemplate","Message":"request content does not match the template content","IsoCode":""}],"RequestId":"4e394811"}}"#,
         .permanent("FailedOperation.TemplateParamSetNotMatchApprovedTemplate: request content does not match the template content")),
        (#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"The provided credentials could not be validated."},"RequestId":"ed93f3cb"}}"#,
         .transient("AuthFailure.SignatureFailure: The provided credentials could not be validated.", retryAfter: 600)),
        (#"{"Response":{"SendStatusSet":[{"SerialNo":"","Code":"LimitExceeded.PhoneNumberDailyLimit","Message":"daily limit"}],"RequestId":"r"}}"#,
         .transient("LimitExceeded.PhoneNumberDailyLimit: daily limit", retryAfter: 3600)),
        ("<html>bad gateway</html>", .unknown("reply is not a Tencent Response: <html>bad gateway</html>")),
        (#"{"Response":{"SendStatusSet":[{"SerialNo":"","Code":"FailedOperation.InsufficientBalanceInSmsPackage","Message":"balance"}],"RequestId":"r"}}"#,
         .transient("FailedOperation.InsufficientBalanceInSmsPackage: balance", retryAfter: 600)),
    ])
    func documentedRepliesAreClassified(body: String, expected: SendOutcome) {
        #expect(TencentSMSGateway.classify(status: 200, body: Data(body.utf8)) == expected)
    }
}
