import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// Echoes whatever it reads.
public final class EchoHandler: ChannelInboundHandler, Sendable {
    public init() {}
    public typealias InboundIn = ByteBuffer
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.writeAndFlush(data, promise: nil) }
}

/// Collects everything the proxy sends to a test client.
public final class CollectHandler: ChannelInboundHandler, Sendable {
    public typealias InboundIn = ByteBuffer
    public let received = NIOLockedValueBox<[UInt8]>([])
    public let closed = NIOLockedValueBox(false)
    /// How many bytes of `received` the `expect…` methods have checked and consumed.
    public let consumed = NIOLockedValueBox(0)
    public init() {}
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        received.withLockedValue { $0 += Array(buffer.readableBytesView) }
    }
    public func channelInactive(context: ChannelHandlerContext) { closed.withLockedValue { $0 = true } }
}

/// The deadline is wall time, but the server under test runs on the cooperative pool, which other
/// modules' long synchronous tests (subprocess loops, fixture parsing) can hold for a minute on a
/// loaded 2-core machine: 120 s, so that only a real hang fails.
public func waitFor(_ what: String, timeout: Double = 120, _ condition: () -> Bool) async throws {
    let deadline = NIODeadline.now() + .milliseconds(Int64(timeout * 1000))
    while !condition() {
        if NIODeadline.now() > deadline {
            Issue.record("timed out waiting for \(what)")
            throw CancellationError()
        }
        try await Task.sleep(nanoseconds: 10_000_000)
    }
}

/// A TCP echo server on 127.0.0.1, port 0.
public func startEchoServer(group: MultiThreadedEventLoopGroup) async throws -> any Channel {
    try await ServerBootstrap(group: group)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(EchoHandler()) }
        }
        .bind(host: "127.0.0.1", port: 0).get()
}

/// A TCP client to 127.0.0.1:`port` whose received bytes collect in the returned handler.
public func connectCollecting(group: MultiThreadedEventLoopGroup, port: Int) async throws -> (any Channel, CollectHandler) {
    let collector = CollectHandler()
    let client = try await ClientBootstrap(group: group)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
        }
        .connect(host: "127.0.0.1", port: port).get()
    return (client, collector)
}
