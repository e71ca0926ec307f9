import AsyncHTTPClient
import Foundation
import NIOCore
import ServiceLifecycle
import Shared

// The sms-notify worker: sends the SMS outbox (handler notices with signed links, urging,
// supervision, escalation, citizen receipts and surveys) through the configured gateway, once,
// within the fleet-wide rate, citizens' daily caps and quiet hours; transient failures retry,
// permanent ones stop with the reason, and outcomes lost in a crash are resolved by policy.
func makeHTTPClient(concurrency: Int) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = concurrency
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}

await WorkerProcess.main({
    var worker = try Worker(name: "sms-notify", queue: "sms-notify", concurrency: 2)
    try worker.registerPing()
    return worker
}, defaultHTTPPort: 9405,
   about: "sends the SMS outbox through the gateway, once per message, with limits, quiet hours and receipts.",
   services: { parts in
    let settings = try SMSSettings(environment: parts.environment)
    var services: [any Service] = []
    let gateway: any SMSGateway
    switch settings.gateway {
    case .file(let path):
        gateway = try FileSinkGateway(path: path)
    case .http(let url, let auth, let timeout):
        let client = makeHTTPClient(concurrency: settings.concurrency)
        services.append(HTTPClientLifetime(client: client))
        gateway = HTTPJSONGateway(client: client, url: url, auth: auth, timeout: .milliseconds(Int64(timeout * 1000)))
    case .tencent(let account, let timeout):
        let client = makeHTTPClient(concurrency: settings.concurrency)
        services.append(HTTPClientLifetime(client: client))
        gateway = TencentSMSGateway(client: client, endpoint: account.endpoint, host: URL(string: account.endpoint)?.host ?? "sms.tencentcloudapi.com",
                                    secretID: account.secretID, secretKey: account.secretKey, region: account.region,
                                    sdkAppID: account.sdkAppID, signName: account.signName, templates: account.templates,
                                    timeout: .milliseconds(Int64(timeout * 1000)))
    }
    let sender = OutboxSender(owner: parts.owner, gateway: gateway, links: settings.links, linkLifetime: settings.linkLifetime,
                              batch: settings.batch, concurrency: settings.concurrency, lease: settings.lease, idleLook: settings.idleLook)
    services.append(DatabaseLoop(name: "sms-outbox", client: parts.client, listener: parts.listener, wakeOn: "hotline.sms_outbox",
                                 health: parts.health, logger: parts.logger, step: sender.step))
    return services
})
