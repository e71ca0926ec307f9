public import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import ServiceLifecycle
import Synchronization

/// Serves `GET /healthz` (JSON, 200 or 503) and `GET /metrics` (Prometheus text) with SwiftNIO's
/// HTTP/1 codec, which PostgresNIO already brings: no web framework to build.
public final class StatusServer: Service, Sendable {
    public typealias Responder = @Sendable (_ path: String) -> (status: Int, contentType: String, body: [UInt8])

    private let host: String
    private let port: Int
    private let responder: Responder
    private let logger: Logger
    private let bound = Mutex<Int?>(nil)

    public init(host: String, port: Int, logger: Logger, responder: @escaping Responder) {
        self.host = host
        self.port = port
        self.logger = logger
        self.responder = responder
    }

    /// The port actually bound (useful with port 0), once running.
    public var boundPort: Int? { bound.withLock { $0 } }

    public func run() async throws {
        let responder = self.responder
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(StatusHandler(responder: responder))
                }
            }
            .bind(host: host, port: port)
            .get()
        let actual = channel.localAddress?.port ?? port
        bound.withLock { $0 = actual }
        logger.info("status endpoint listening", metadata: ["address": "http://\(host):\(actual)/healthz"])
        try? await gracefulShutdown()
        try? await channel.close()
    }
}

private final class StatusHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: StatusServer.Responder
    private var path = "/"
    private var method: HTTPMethod = .GET
    private var keepAlive = false

    init(responder: @escaping StatusServer.Responder) {
        self.responder = responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "/")
            method = head.method
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let (status, contentType, body) = method == .GET || method == .HEAD
                ? responder(path)
                : (405, "text/plain; charset=utf-8", Array("method not allowed\n".utf8))
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: "\(body.count)")
            headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if method != .HEAD {
                var buffer = context.channel.allocator.buffer(capacity: body.count)
                buffer.writeBytes(body)
                context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            }
            let keepAlive = self.keepAlive
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}
