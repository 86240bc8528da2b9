import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import RecordFormat
import WebSocketWire

@testable import Proxy

/// A ``WebSocketSessionHandler`` on an `EmbeddedChannel` (the client) whose target connection is a
/// second `EmbeddedChannel` on the same loop: a whole session driven without sockets, threads or
/// sleeps (timers fire when the test advances the loop's time). Both channels count the `read()`
/// calls the session makes (with auto-read off, each one is a permission to read once).
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

    /// Takes the place of a socket's half-close, which `EmbeddedChannel` doesn't have (it closes
    /// fully for every mode): a `close(mode: .output)` is noted and succeeds, the channel stays open.
    final class OutputShutRecorder: ChannelOutboundHandler {
        typealias OutboundIn = Any
        private(set) var outputShut = false

        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            guard mode == .output else { return context.close(mode: mode, promise: promise) }
            outputShut = true
            promise?.succeed()
        }
    }

    /// Sees the session as a tap does: its opening, every frame, and its close record.
    final class Observer: SessionTap {
        private(set) var opened = false
        private(set) var frames: [(Direction, Opcode, [UInt8])] = []
        private(set) var closed: SessionClose?

        func opened(_ open: SessionOpen) { opened = true }
        func frame(_ direction: Direction, opcode: Opcode, isFinal: Bool, payload: ByteBuffer) {
            frames.append((direction, opcode, Array(payload.readableBytesView)))
        }
        func closed(_ close: SessionClose) { closed = close }
    }

    /// Hands the session the harness's target channel when the test says so.
    struct Connector: TargetConnector {
        let target: EmbeddedChannel
        let promise: EventLoopPromise<any Channel>

        func connect(
            to target: ProxyConfiguration.Target, for session: NIOLoopBound<WebSocketSessionHandler>
        ) -> EventLoopFuture<any Channel> {
            // The relay joins the pipeline only if the connection is made, as a bootstrap's initializer.
            promise.futureResult.flatMapThrowing { channel in
                try channel.pipeline.syncOperations.addHandler(TargetRelayHandler(session: session))
                return channel
            }
        }
    }

    /// When the target connection is made.
    enum Connect {
        /// Before the session handler returns from being added.
        case atOnce
        /// When the test calls ``connectTarget()`` or ``failTarget()``.
        case later
    }

    let loop = EmbeddedEventLoop()
    let client: EmbeddedChannel
    let target: EmbeddedChannel
    let clientReads = ReadCounter()
    let targetReads = ReadCounter()
    let clientOutput = OutputShutRecorder()
    let observer = Observer()
    /// The session handler, held by the client's pipeline only (and by whatever else keeps it
    /// alive: a timer that was not cancelled, for one).
    private(set) weak var handler: WebSocketSessionHandler?
    let server: ServerContext
    private let connection: EventLoopPromise<any Channel>
    /// Log lines at info level and above.
    private let logLines = NIOLockedValueBox<[String]>([])
    var log: [String] { logLines.withLockedValue { $0 } }

    /// Opens a session. With `backend`, the session backend drives it instead of the target (it
    /// starts on the loop's next turn, which this init runs).
    init(
        mode: PayloadMode = .binary, taps: [SessionTapFactory] = [], heartbeat: TimeAmount? = nil,
        closeHandshakeTimeout: TimeAmount = .seconds(2), maxMessageSize: Int? = nil,
        backend: (any SessionBackendProvider)? = nil, connect: Connect = .atOnce, initialBytes: ByteBuffer? = nil,
        metrics: ProxyMetrics? = nil, deflate: PerMessageDeflate? = nil
    ) throws {
        client = EmbeddedChannel(loop: loop)
        target = EmbeddedChannel(loop: loop)
        connection = loop.makePromise()
        let fixedTarget = ProxyConfiguration.Target.hostPort(host: "target.invalid", port: 5900)
        var configuration = ProxyConfiguration(listenPort: 0, upstream: backend.map { .backend($0) } ?? .fixed(fixedTarget))
        let observer = NIOLoopBound(self.observer, eventLoop: loop)
        configuration.sessionTapFactories = taps + [{ _ in observer.value }]
        configuration.heartbeatInterval = heartbeat
        configuration.timeouts.closeHandshake = closeHandshakeTimeout
        if let maxMessageSize { configuration.limits.maxMessageSize = maxMessageSize }
        configuration.metrics = metrics
        let lines = logLines
        server = ServerContext(
            configuration: configuration,
            logger: Logger(label: "session-harness") { _ in LineCollector(lines: lines) },
            onSessionEnded: { _ in })
        let info = WebSocketSessionHandler.Info(
            clientAddress: "192.0.2.1:40000", listenAddress: "192.0.2.2:6080", requestPath: "/",
            subprotocol: mode == .base64 ? "base64" : "binary", target: backend == nil ? fixedTarget : nil, tls: false,
            mode: mode, deflate: deflate)
        try client.pipeline.syncOperations.addHandlers(clientReads, clientOutput)
        try target.pipeline.syncOperations.addHandler(targetReads)
        try client.connect(to: SocketAddress(ipAddress: "192.0.2.2", port: 6080)).wait()
        try target.connect(to: SocketAddress(ipAddress: "192.0.2.3", port: 5900)).wait()
        let session = WebSocketSessionHandler(
            server: server, info: info, initialBytes: initialBytes,
            targetConnector: Connector(target: target, promise: connection))
        handler = session
        if connect == .atOnce { connection.succeed(target) }
        try client.pipeline.syncOperations.addHandler(session)
        loop.run()
    }

    /// The target connection is up now.
    func connectTarget() { connection.succeed(target) }

    /// The target connection failed.
    func failTarget() { connection.fail(ChannelError.connectTimeout(.seconds(10))) }

    /// Sessions the server still counts as open (0 once the session finished).
    var openSessions: Int { server.sessionCount }

    /// Sets `channel`'s writability and tells its pipeline, as a socket channel does when its
    /// outbound buffer crosses a water mark.
    func setWritable(_ channel: EmbeddedChannel, _ writable: Bool) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }

    /// Moves the loop's clock (timers due by then fire).
    func advance(by amount: TimeAmount) { loop.advanceTime(by: amount) }

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

/// Keeps the log lines of a harness's session.
private struct LineCollector: LogHandler {
    let lines: NIOLockedValueBox<[String]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.withLockedValue { $0.append("\(event.message)") }
    }
}
