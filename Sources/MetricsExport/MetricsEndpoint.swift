import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The `/metrics` HTTP endpoint (`--metrics-listen`) on a listener of its own, apart from the
/// proxy's port: scrapes never compete with sessions for the proxy's accept queue, and the port can
/// stay on loopback while the proxy faces the world.
///
/// Made bound (``bind(host:port:registry:logger:)``), so that a port in use is an error at start;
/// as a `Service` it serves until the group shuts down gracefully, then closes the listener.
public final class MetricsEndpoint: Service, Sendable {
    private let channel: any Channel

    /// The address the endpoint listens on (its port when 0 was asked for).
    public var localAddress: SocketAddress? { channel.localAddress }

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Listens on `host:port` and serves `registry` there.
    public static func bind(
        host: String, port: Int, registry: MetricsRegistry, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> MetricsEndpoint {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsRequestHandler(registry: registry))
                }
            }
            .bind(host: host, port: port).get()
        if let address = channel.localAddress { logger.info("metrics at http://\(Self.describe(address))/metrics") }
        return MetricsEndpoint(channel: channel)
    }

    /// Serves until graceful shutdown (or cancellation), then closes the listener.
    public func run() async throws {
        try? await gracefulShutdown()
        try await close()
    }

    /// Closes the listener (connections being answered finish on their own).
    public func close() async throws {
        do {
            try await channel.close()
        } catch ChannelError.alreadyClosed {}
    }

    /// `127.0.0.1:9100` or `[::1]:9100` for the log.
    private static func describe(_ address: SocketAddress) -> String {
        let host = address.ipAddress ?? "?"
        let port = address.port ?? 0
        if case .v6 = address { return "[\(host)]:\(port)" }
        return "\(host):\(port)"
    }
}
