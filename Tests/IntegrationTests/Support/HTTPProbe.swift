import Foundation
import NIOCore
import NIOPosix

/// A minimal HTTP/1.0 GET over a plain socket (NIO), enough to read /healthz and /metrics.
enum HTTPProbe {
    static func get(port: Int, path: String) async throws -> (status: Int, body: String) {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"))
            var response = ""
            for try await var chunk in inbound {
                response += chunk.readString(length: chunk.readableBytes) ?? ""
            }
            let head = response.components(separatedBy: "\r\n\r\n").first ?? ""
            let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            let body = response.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
            return (status, body)
        }
    }
}
