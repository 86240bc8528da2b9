import Logging
import NIOCore
import NIOEmbedded

@testable import Proxy

/// A ``WebSocketSessionHandler`` on an `EmbeddedChannel` (the client) whose target connection is a
/// second `EmbeddedChannel` on the same loop: a whole session driven without sockets, threads or
/// sleeps. Both channels count the `read()` calls the session makes (with auto-read off, each one
/// is a permission to read once).
final class SessionHarness {
    /// Counts the `read()` calls passing towards the channel.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        private(set) var reads = 0

        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    let loop = EmbeddedEventLoop()
    let client: EmbeddedChannel
    let target: EmbeddedChannel
    let clientReads = ReadCounter()
    let targetReads = ReadCounter()

    /// Opens a session: the target "connects" at once, so relaying starts before this returns.
    init(mode: PayloadMode = .binary, taps: [SessionTapFactory] = []) throws {
        client = EmbeddedChannel(loop: loop)
        target = EmbeddedChannel(loop: loop)
        var configuration = ProxyConfiguration(listenPort: 0, target: .hostPort(host: "target.invalid", port: 5900))
        configuration.sessionTapFactories = taps
        let server = ServerContext(
            configuration: configuration, logger: Logger(label: "session-harness") { _ in SwiftLogNoOpLogHandler() }, onSessionEnded: { _ in })
        let info = WebSocketSessionHandler.Info(
            clientAddress: "192.0.2.1:40000", listenAddress: "192.0.2.2:6080", requestPath: "/",
            subprotocol: mode == .base64 ? "base64" : "binary", target: configuration.target, tls: false, mode: mode)
        try client.pipeline.syncOperations.addHandler(clientReads)
        try target.pipeline.syncOperations.addHandler(targetReads)
        try client.connect(to: SocketAddress(ipAddress: "192.0.2.2", port: 6080)).wait()
        try target.connect(to: SocketAddress(ipAddress: "192.0.2.3", port: 5900)).wait()
        let target = self.target
        let session = WebSocketSessionHandler(server: server, info: info) { session in
            target.eventLoop.makeCompletedFuture {
                try target.pipeline.syncOperations.addHandler(TargetRelayHandler(session: session))
                return target
            }
        }
        try client.pipeline.syncOperations.addHandler(session)
    }

    /// Sets `channel`'s writability and tells its pipeline, as a socket channel does when its
    /// outbound buffer crosses a water mark.
    func setWritable(_ channel: EmbeddedChannel, _ writable: Bool) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }

    /// Closes what the session left open (the proxy closes the client itself after a close handshake).
    func end() throws {
        for channel in [client, target] where channel.isActive { try channel.close().wait() }
    }

    /// Everything written (and flushed) to `channel` so far.
    func takeOutbound(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
        return bytes
    }
}
