import NIOCore
import NIOPosix
import NIOSSL

/// Connects to the target over TCP or a unix socket (with TLS when configured), on the session's
/// own event loop, so relaying never crosses threads.
struct SocketTargetConnector: TargetConnector {
    var writeBufferWaterMark: ChannelOptions.Types.WriteBufferWaterMark
    var recvAllocator: AdaptiveRecvByteBufferAllocator
    var targetTLS: TLSClient?
    var connectTimeout: TimeAmount

    init(configuration: ProxyConfiguration) {
        writeBufferWaterMark = configuration.limits.writeBufferWaterMark
        recvAllocator = configuration.limits.recvAllocator
        targetTLS = configuration.targetTLS
        connectTimeout = configuration.timeouts.targetConnect
    }

    func connect(
        to target: ProxyConfiguration.Target, for session: NIOLoopBound<WebSocketSessionHandler>
    ) -> EventLoopFuture<any Channel> {
        let bootstrap = ClientBootstrap(group: session.eventLoop)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelOption(ChannelOptions.writeBufferWaterMark, value: writeBufferWaterMark)
            .channelOption(ChannelOptions.recvAllocator, value: recvAllocator)
            .connectTimeout(connectTimeout)
            .channelInitializer { [targetTLS] channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let targetTLS {
                        try sync.addHandler(try TargetTLS.handler(for: target, client: targetTLS))
                    }
                    try sync.addHandler(TargetRelayHandler(session: session))
                }
            }
        switch target {
        case .hostPort(let host, let port):
            return bootstrap.channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port)
        case .unixSocket(let path):
            return bootstrap.connect(unixDomainSocketPath: path)
        }
    }
}
