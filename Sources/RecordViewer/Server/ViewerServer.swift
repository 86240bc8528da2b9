import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The viewer's HTTP server (HTTP/1.1, GET only), on loopback unless told otherwise.
public final class ViewerServer: Sendable {
    public let api: ViewerAPI
    private let group: MultiThreadedEventLoopGroup
    private let threadPool: NIOThreadPool
    private let channel: any Channel

    /// The address it listens on (the port chosen when 0 was asked).
    public var localAddress: SocketAddress? { channel.localAddress }

    /// The port it listens on.
    public var port: Int? { channel.localAddress?.port }

    /// Binds `host:port` (port 0: any free port) and starts answering.
    public init(api: ViewerAPI, host: String, port: Int) throws {
        self.api = api
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        let hostCheck = ViewerHostCheck(listenHost: host, port: channel.localAddress?.port ?? port)
                        try channel.pipeline.syncOperations.addHandler(
                            ViewerHTTPHandler(api: api, threadPool: threadPool, hostCheck: hostCheck))
                    }
                }
                .bind(host: host, port: port).wait()
        } catch {
            try? threadPool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            throw ListenError(underlying: error)
        }
        self.group = group
        self.threadPool = threadPool
    }

    /// Listening failed; described by its reason alone ("address already in use"), without the
    /// name of the NIO call that failed.
    public struct ListenError: Error, CustomStringConvertible {
        public let underlying: any Error
        public var description: String {
            guard let io = underlying as? IOError else { return "\(underlying)" }
            return String(cString: strerror(io.errnoCode)).lowercased()
        }
    }

    /// Blocks until the server is closed.
    public func wait() throws { try channel.closeFuture.wait() }

    public func close() throws {
        try? channel.close().wait()
        try threadPool.syncShutdownGracefully()
        try group.syncShutdownGracefully()
    }
}
