import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A local HTTP JSON SMS gateway for tests and the benchmark: the SMS provider is outside our
/// control, so this plays it over real HTTP. What it does depends on the last four digits of
/// the recipient:
///
/// | ends in | reply |
/// |---|---|
/// | 0429 | 429 with `Retry-After: 1` the first time a reference is seen, then accepted |
/// | 0500 | 503 always |
/// | 0400 | 400 `{"error": "invalid_number"}` |
/// | 0408 | accepted, but only after `slowReplySeconds` (longer than the client's timeout) |
/// | 0222 | 200 with a body that is not JSON |
/// | other | 200 `{"message_id": "gw-<ref>"}` |
///
/// With `hmacSecret` set, a request whose X-Signature is not HMAC-SHA256(secret, "timestamp\nbody")
/// gets 401 `{"error": "bad_signature"}`. `behaviour` overrides the table for every recipient,
/// so the fault suite can take the whole provider down, slow it or make it talk nonsense.
public final class GatewaySimulator: Sendable {
    /// What the provider does to every request, whatever the recipient.
    public enum Behaviour: String, Sendable, CaseIterable {
        /// The table above.
        case normal
        /// Drops each connection as soon as a request starts (a provider that is down).
        case down
        /// Accepts every message, but only after `slowReplySeconds` (longer than the client waits).
        case slow
        /// 429 with `Retry-After: 1` to everyone.
        case rateLimited
        /// 200 with a body that is not JSON: the message went out, the reply says nothing.
        case garbled
        /// 503 to everyone.
        case unavailable
    }

    public struct Received: Sendable, Equatable {
        public let reference: String
        public let phone: String
        public let text: String
        public let idempotencyKey: String?
        public let status: Int
    }

    private let hmacSecret: String?
    private let slowReply: TimeAmount
    private let state = Mutex<(received: [Received], seen: Set<String>)>(([], []))
    private let override = Mutex<Behaviour>(.normal)
    private let channel: any Channel

    public var port: Int { channel.localAddress?.port ?? 0 }
    public var url: String { "http://127.0.0.1:\(port)/sms" }
    public var received: [Received] { state.withLock { $0.received } }

    /// The behaviour in force for every request.
    public var behaviour: Behaviour {
        get { override.withLock { $0 } }
        set { override.withLock { $0 = newValue } }
    }

    private init(channel: any Channel, hmacSecret: String?, slowReply: TimeAmount) {
        self.channel = channel
        self.hmacSecret = hmacSecret
        self.slowReply = slowReply
    }

    public static func start(hmacSecret: String? = nil, slowReplySeconds: Double = 3) async throws -> GatewaySimulator {
        let box = Mutex<GatewaySimulator?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 512)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(Handler(owner: { box.withLock { $0 } }))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let simulator = GatewaySimulator(channel: channel, hmacSecret: hmacSecret, slowReply: .milliseconds(Int64(slowReplySeconds * 1000)))
        box.withLock { $0 = simulator }
        return simulator
    }

    public func stop() async {
        try? await channel.close()
    }

    /// The reply to one request: status, headers, body, and how long to wait before sending it.
    func reply(headers: HTTPHeaders, body: [UInt8]) -> (Int, [(String, String)], String, TimeAmount) {
        guard let json = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
              let reference = json["ref"] as? String, let phone = json["to"] as? String, let text = json["text"] as? String else {
            return (400, [], #"{"error":"bad_request","message":"expected {ref, to, text}"}"#, .zero)
        }
        if let secret = hmacSecret {
            let timestamp = headers.first(name: "X-Timestamp") ?? ""
            var signed = Data(timestamp.utf8)
            signed.append(0x0A)
            signed.append(contentsOf: body)
            let expected = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
                .map { String(format: "%02x", $0) }.joined()
            if headers.first(name: "X-Signature") != expected {
                record(reference, phone, text, headers, 401)
                return (401, [], #"{"error":"bad_signature","message":"signature mismatch"}"#, .zero)
            }
        }
        let firstTime = state.withLock { $0.seen.insert(reference).inserted }
        let ok = #"{"message_id":"gw-\#(reference)"}"#
        let forced: (Int, [(String, String)], String, TimeAmount)? = switch behaviour {
        case .normal, .down: nil
        case .slow: (200, [], ok, slowReply)
        case .rateLimited: (429, [("Retry-After", "1")], #"{"error":"rate_limited"}"#, .zero)
        case .garbled: (200, [], "<html>gateway busy</html>", .zero)
        case .unavailable: (503, [], #"{"error":"unavailable"}"#, .zero)
        }
        if let forced {
            record(reference, phone, text, headers, forced.0)
            return forced
        }
        let (status, extra, text2, delay): (Int, [(String, String)], String, TimeAmount) = switch String(phone.suffix(4)) {
        case "0429": firstTime ? (429, [("Retry-After", "1")], #"{"error":"rate_limited"}"#, .zero) : (200, [], ok, .zero)
        case "0500": (503, [], #"{"error":"unavailable"}"#, .zero)
        case "0400": (400, [], #"{"error":"invalid_number","message":"号码不存在"}"#, .zero)
        case "0408": (200, [], ok, slowReply)
        case "0222": (200, [], "OK", .zero)
        default: (200, [], ok, .zero)
        }
        record(reference, phone, text, headers, status)
        return (status, extra, text2, delay)
    }

    private func record(_ reference: String, _ phone: String, _ text: String, _ headers: HTTPHeaders, _ status: Int) {
        state.withLock {
            $0.received.append(Received(reference: reference, phone: phone, text: text,
                                        idempotencyKey: headers.first(name: "Idempotency-Key"), status: status))
        }
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let owner: @Sendable () -> GatewaySimulator?
        private var headers = HTTPHeaders()
        private var body: [UInt8] = []
        private var keepAlive = true
        private var dropped = false

        init(owner: @escaping @Sendable () -> GatewaySimulator?) {
            self.owner = owner
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                dropped = owner()?.behaviour == .down
                if dropped {
                    context.close(promise: nil)
                    return
                }
                headers = head.headers
                keepAlive = head.isKeepAlive
                body = []
            case .body where dropped, .end where dropped:
                return
            case .body(var buffer):
                body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
            case .end:
                let (status, extra, text, delay) = owner()?.reply(headers: headers, body: body) ?? (503, [], "{}", .zero)
                let keepAlive = self.keepAlive
                let channel = context.channel
                let respond: @Sendable () -> Void = {
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "application/json")
                    for (name, value) in extra { headers.add(name: name, value: value) }
                    let bytes = Array(text.utf8)
                    headers.add(name: "Content-Length", value: "\(bytes.count)")
                    let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
                    channel.write(HTTPServerResponsePart.head(head), promise: nil)
                    channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(bytes: bytes))), promise: nil)
                    channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
                        if !keepAlive { channel.close(promise: nil) }
                    }
                }
                if delay == .zero {
                    respond()
                } else {
                    context.eventLoop.scheduleTask(in: delay) { respond() }
                }
            }
        }
    }
}
