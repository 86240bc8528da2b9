import Logging
import NIOCore
import NIOPosix
import NIOSSL
import RecordFormat

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One proxied session, on the client's channel after the handshake: parses client frames with
/// ``ClientFrameStateMachine``, relays to and from the target connection, and closes both sides.
///
/// Both channels run with auto-read off on the same event loop; each side is read only while the
/// other is writable, so a slow peer stops the fast one instead of growing buffers.
final class WebSocketSessionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Info {
        var clientAddress: String
        var listenAddress: String
        var requestPath: String
        var subprotocol: String?
        /// Where this session connects (chosen by the target resolver).
        var target: ProxyConfiguration.Target
        /// The client came over TLS.
        var tls: Bool
        var mode: PayloadMode
    }

    private enum State {
        /// Waiting for the target connection.
        case connecting
        /// Relaying.
        case open
        /// The proxy sent a close frame and waits for the client's (or the timer).
        case closing
        /// The close frame is out: our side of TCP is shut once it is sent, and incoming bytes are
        /// read and dropped until the client closes too (or a timer), so the close frame isn't lost
        /// to a reset caused by unread data (RFC 6455 §7.1.1).
        case draining
        /// Done; the channel is closing or closed.
        case closed
    }

    private let server: ServerContext
    private let info: Info
    private var id: UInt64 = 0
    private var machine: ClientFrameStateMachine
    private var state = State.connecting
    private var context: ChannelHandlerContext?
    private var target: (any Channel)?
    /// Drives the session instead of a target connection (``ProxyConfiguration/sessionBackend``).
    private var backend: (any SessionBackend)?
    private var inbound: ByteBuffer?
    private var taps: [any SessionTap] = []
    private var started = NIODeadline.now()
    private var clientToTarget = DirectionTotals()
    private var targetToClient = DirectionTotals()
    private var closer = Closer.unknown
    private var closeCode: UInt16?
    private var closeReason = ""
    /// A read of the target is owed once the client is writable again.
    private var targetReadPending = false
    /// A read of the client is owed once the target is writable again.
    private var clientReadPending = false
    private var heartbeat: RepeatedTask?
    private var closeTimer: Scheduled<Void>?
    private var finished = false
    /// True while ``processInbound(context:)`` runs: a write to the target can close it synchronously,
    /// and the resulting close must not parse the same bytes again.
    private var processing = false
    /// The client closed while the target was still connecting, leaving frames to deliver.
    private var clientGone = false
    private var logger: Logger

    /// Opens the target connection with a ``TargetRelayHandler`` for `session` in its pipeline.
    typealias TargetConnector = (_ session: NIOLoopBound<WebSocketSessionHandler>) -> EventLoopFuture<any Channel>
    /// Replaces the TCP/unix-socket connect (tests: a target on an `EmbeddedChannel`).
    private let targetConnector: TargetConnector?

    /// - Parameters:
    ///   - initialBytes: what the client sent right after its request.
    ///   - targetConnector: nil: connect to `info.target` over the network.
    init(server: ServerContext, info: Info, initialBytes: ByteBuffer? = nil, targetConnector: TargetConnector? = nil) {
        self.server = server
        self.info = info
        self.inbound = initialBytes
        self.targetConnector = targetConnector
        self.machine = ClientFrameStateMachine(
            maxMessageSize: server.configuration.maxMessageSize, mode: info.mode)
        self.logger = server.logger
    }

    // MARK: Client channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        id = server.register(self, on: context.eventLoop)
        started = .now()
        let sessionContext = SessionContext(sessionID: id, eventLoop: context.eventLoop)
        taps = server.configuration.sessionTapFactories.map { $0(sessionContext) }
        if let provider = server.configuration.sessionBackend {
            // Like a target connection, the backend starts once the handshake handlers are gone.
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let (session, context) = bound.value
                session.startBackend(provider, context: context)
            }
        } else {
            connectTarget(context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if inbound == nil || inbound!.readableBytes == 0 {
            inbound = buffer
        } else {
            inbound!.writeBuffer(&buffer)
        }
        // Bytes that arrive before the target is up (sent right after the request) wait here.
        if state != .connecting { processInbound(context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        target?.flush()
        context.flush()
        readClientIfPossible(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, targetReadPending, let target {
            targetReadPending = false
            target.read()
        }
        backend?.clientWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if closer == .unknown { closer = .client }
        if state == .connecting, let inbound, inbound.readableBytes > 0 {
            // The client sent frames and left before the target was up: deliver them once it is.
            clientGone = true
            context.fireChannelInactive()
            return
        }
        state = .closed
        closeTarget()
        finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("client \(info.clientAddress): \(error)")
        if closer == .unknown { closer = .client }
        context.close(promise: nil)
    }

    // MARK: Relaying

    private func processInbound(context: ChannelHandlerContext) {
        guard !processing, var buffer = inbound else { return }
        inbound = nil  // keep `buffer` uniquely referenced, so discarding read bytes doesn't copy
        processing = true
        defer {
            processing = false
            if buffer.readableBytes == 0 {
                inbound = nil
            } else {
                buffer.discardReadBytes()
                inbound = buffer
            }
        }
        while true {
            switch machine.next(&buffer) {
            case .needMoreData:
                return
            case .data(let opcode, let isFinal, let payload, let forward):
                note(.clientToTarget, opcode, isFinal, payload)
                if state == .open, let forward, forward.readableBytes > 0 {
                    if let backend {
                        backend.clientData(forward)
                    } else {
                        target?.write(forward, promise: nil)
                    }
                }
            case .ping(let payload):
                note(.clientToTarget, .ping, true, payload)
                if state == .open || state == .closing { send(context: context, opcode: .pong, payload: payload) }
            case .pong(let payload):
                note(.clientToTarget, .pong, true, payload)
            case .close(let code, let reason, let payload):
                note(.clientToTarget, .close, true, payload)
                if state == .closing {
                    // The client answered our close: the handshake is complete.
                    closeNow(context: context)
                } else {
                    closer = .client
                    closeCode = code
                    closeReason = reason
                    let echo = ServerFrameEncoder.closePayload(
                        code: code, reason: "", allocator: context.channel.allocator)
                    send(context: context, opcode: .close, payload: echo)
                    closeNow(context: context)
                }
                return
            case .fail(let code, let reason):
                logger.info("client \(info.clientAddress) broke the protocol: \(reason); closing with \(code)")
                // Only one close frame per connection (RFC 6455 §5.5.1): if ours is already out,
                // just stop waiting for the answer.
                if state != .closing {
                    closer = .proxy
                    closeCode = code
                    closeReason = reason
                    let payload = ServerFrameEncoder.closePayload(
                        code: code, reason: reason, allocator: context.channel.allocator)
                    send(context: context, opcode: .close, payload: payload)
                }
                closeNow(context: context)
                return
            }
        }
    }

    private func readClientIfPossible(context: ChannelHandlerContext) {
        switch state {
        case .open:
            if backend != nil || target?.isWritable ?? false {
                clientReadPending = false
                context.read()
            } else {
                clientReadPending = true
            }
        case .closing:
            // Only the client's close frame matters now; keep reading to find it.
            context.read()
        case .draining:
            context.read()
        case .connecting, .closed:
            break
        }
    }

    private func note(_ direction: Direction, _ opcode: Opcode, _ isFinal: Bool, _ payload: ByteBuffer) {
        switch direction {
        case .clientToTarget:
            clientToTarget.frames += 1
            clientToTarget.bytes += UInt64(payload.readableBytes)
        case .targetToClient:
            targetToClient.frames += 1
            targetToClient.bytes += UInt64(payload.readableBytes)
        }
        for tap in taps { tap.frame(direction, opcode: opcode, isFinal: isFinal, payload: payload) }
    }

    /// Writes one final frame to the client (not flushed); the proxy's own frames are counted as
    /// target-to-client.
    private func send(context: ChannelHandlerContext, opcode: Opcode, payload: ByteBuffer) {
        note(.targetToClient, opcode, true, payload)
        let header = ServerFrameEncoder.header(
            opcode: opcode, length: payload.readableBytes, allocator: context.channel.allocator)
        context.write(wrapOutboundOut(header), promise: nil)
        if payload.readableBytes > 0 { context.write(wrapOutboundOut(payload), promise: nil) }
    }

    /// Flushes what was written (the close frame last), closes the target, shuts our sending side
    /// and drains the client until it closes (bounded by the close-handshake timeout).
    private func closeNow(context: ChannelHandlerContext) {
        state = .draining
        closeTimer?.cancel()
        heartbeat?.cancel()
        closeTarget()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { result in
            switch result {
            case .success:
                channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
            case .failure:
                channel.close(promise: nil)
            }
        }
        closeTimer = context.eventLoop.scheduleTask(in: server.configuration.closeHandshakeTimeout) {
            channel.close(promise: nil)
        }
        context.read()
    }

    /// Sends a close frame and waits for the client's answer for a bounded time (RFC 6455 §7.1.2).
    private func startClosing(context: ChannelHandlerContext, code: UInt16?, reason: String) {
        guard state == .open || state == .connecting else { return }
        closeCode = code
        closeReason = reason
        let payload = ServerFrameEncoder.closePayload(code: code, reason: reason, allocator: context.channel.allocator)
        send(context: context, opcode: .close, payload: payload)
        context.flush()
        state = .closing
        heartbeat?.cancel()
        closeTarget()
        let channel = context.channel
        closeTimer = context.eventLoop.scheduleTask(in: server.configuration.closeHandshakeTimeout) {
            channel.close(promise: nil)
        }
        // Pending client bytes may already hold its close frame.
        processInbound(context: context)
        if state == .closing { context.read() }
    }

    /// Closes the target connection once what was written to it has been sent (bounded by the
    /// close-handshake timeout, for a target that stopped reading).
    private func closeTarget() {
        guard let target, target.isActive else { return }
        let timeout = server.configuration.closeHandshakeTimeout
        let fallback = target.eventLoop.scheduleTask(in: timeout) { target.close(promise: nil) }
        target.writeAndFlush(target.allocator.buffer(capacity: 0)).whenComplete { _ in
            fallback.cancel()
            target.close(promise: nil)
        }
    }

    /// Server shutdown, grace period over: close both connections now.
    func forceClose() {
        target?.close(promise: nil)
        context?.close(promise: nil)
    }

    /// Server shutdown: close with 1001.
    func shutdown() {
        guard let context else { return }
        switch state {
        case .open, .connecting:
            closer = .proxy
            startClosing(context: context, code: CloseCode.goingAway, reason: "server shutting down")
        case .closing, .draining, .closed:
            break
        }
    }

    // MARK: Session backend

    private func startBackend(_ provider: any SessionBackendProvider, context: ChannelHandlerContext) {
        guard state == .connecting, !clientGone, context.channel.isActive else {
            if state == .connecting { state = .closed }
            finish()
            return
        }
        let backend = provider.makeBackend(
            SessionBackendInfo(
                sessionID: id, clientAddress: info.clientAddress, requestPath: info.requestPath,
                subprotocol: info.subprotocol))
        self.backend = backend
        state = .open
        tellTapsOpened()
        logger.info(
            "session \(id) open: client \(info.clientAddress), path \(info.requestPath), protocol \(info.subprotocol ?? "none"), driven by a session backend"
        )
        backend.start(SessionDriver(session: NIOLoopBound(self, eventLoop: context.eventLoop)))
        processInbound(context: context)
        readClientIfPossible(context: context)
    }

    var clientIsWritable: Bool { context?.channel.isWritable ?? false }

    func backendFlush() { context?.flush() }

    func backendClose(code: UInt16?, reason: String) {
        guard let context, state == .open else { return }
        closer = .target
        startClosing(context: context, code: code, reason: reason)
    }

    // MARK: Target side

    private func connectTarget(context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let boundSession = NIOLoopBound(self, eventLoop: loop)
        let future = targetConnector?(boundSession) ?? connectSocket(loop: loop, session: boundSession)
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        future.whenComplete { result in
            let (session, context) = bound.value
            switch result {
            case .success(let channel):
                session.targetConnected(context: context, channel: channel)
            case .failure(let error):
                session.targetFailed(context: context, error: error)
            }
        }
    }

    /// Connects to `info.target`, reading only when asked (see the type's documentation).
    private func connectSocket(
        loop: any EventLoop, session boundSession: NIOLoopBound<WebSocketSessionHandler>
    ) -> EventLoopFuture<any Channel> {
        let configuration = server.configuration
        let bootstrap = ClientBootstrap(group: loop)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelOption(ChannelOptions.writeBufferWaterMark, value: configuration.writeBufferWaterMark)
            .channelOption(ChannelOptions.recvAllocator, value: configuration.recvAllocator)
            .connectTimeout(.seconds(10))
            .channelInitializer { [target = info.target, targetTLS = configuration.targetTLS] channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let targetTLS {
                        try sync.addHandler(try TargetTLS.handler(for: target, client: targetTLS))
                    }
                    try sync.addHandler(TargetRelayHandler(session: boundSession))
                }
            }
        switch info.target {
        case .hostPort(let host, let port):
            return bootstrap.channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port)
        case .unixSocket(let path):
            return bootstrap.connect(unixDomainSocketPath: path)
        }
    }

    /// The session is up: the taps get its metadata.
    private func tellTapsOpened() {
        let open = SessionOpen(
            startWallMicros: Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()),
            clientAddress: info.clientAddress, listenAddress: info.listenAddress,
            target: info.target.sessionTarget, requestPath: info.requestPath,
            subprotocol: info.subprotocol, tls: info.tls)
        for tap in taps { tap.opened(open) }
    }

    private func targetConnected(context: ChannelHandlerContext, channel: any Channel) {
        guard state == .connecting else {
            channel.close(promise: nil)
            return
        }
        target = channel
        state = .open
        tellTapsOpened()
        logger.info(
            "session \(id) open: client \(info.clientAddress) -> target \(info.target.sessionTarget.displayString), path \(info.requestPath), protocol \(info.subprotocol ?? "none")"
        )
        if clientGone {
            processInbound(context: context)
            state = .closed
            closeTarget()
            finish()
            return
        }
        if let interval = server.configuration.heartbeatInterval {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            heartbeat = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                let (session, context) = bound.value
                session.sendHeartbeat(context: context)
            }
        }
        channel.read()
        processInbound(context: context)
        target?.flush()
        readClientIfPossible(context: context)
    }

    private func targetFailed(context: ChannelHandlerContext, error: any Error) {
        guard state == .connecting else { return }
        let target = info.target.sessionTarget.displayString
        logger.error("session \(id): cannot connect to target \(target): \(error)")
        if clientGone {
            state = .closed
            finish()
            return
        }
        closer = .proxy
        closeCode = CloseCode.internalError
        closeReason = "target unreachable"
        let payload = ServerFrameEncoder.closePayload(
            code: CloseCode.internalError, reason: "target unreachable", allocator: context.channel.allocator)
        send(context: context, opcode: .close, payload: payload)
        closeNow(context: context)
    }

    private func sendHeartbeat(context: ChannelHandlerContext) {
        guard state == .open else { return }
        var payload = context.channel.allocator.buffer(capacity: 8)
        payload.writeString("ping")
        send(context: context, opcode: .ping, payload: payload)
        context.flush()
    }

    /// Bytes from the target go to the client as one frame per read.
    func targetRead(_ data: ByteBuffer) {
        guard state == .open, let context else { return }
        switch info.mode {
        case .binary:
            send(context: context, opcode: .binary, payload: data)
        case .base64:
            let text = Data(data.readableBytesView).base64EncodedString()
            var payload = context.channel.allocator.buffer(capacity: text.utf8.count)
            payload.writeString(text)
            send(context: context, opcode: .text, payload: payload)
        }
    }

    func targetReadComplete() {
        guard let context, let target else { return }
        context.flush()
        guard state == .open else { return }
        if context.channel.isWritable {
            target.read()
        } else {
            targetReadPending = true
        }
    }

    func targetWritabilityChanged(isWritable: Bool) {
        guard isWritable, clientReadPending, let context else { return }
        readClientIfPossible(context: context)
    }

    func targetInactive(error: (any Error)?) {
        guard let context else { return }
        guard state == .open || state == .connecting else { return }
        if let error {
            logger.info("session \(id): target connection failed: \(error)")
            closer = .target
            startClosing(context: context, code: CloseCode.internalError, reason: "target connection failed")
        } else {
            closer = .target
            startClosing(context: context, code: CloseCode.normal, reason: "target closed the connection")
        }
    }

    // MARK: End

    private func finish() {
        guard !finished else { return }
        finished = true
        heartbeat?.cancel()
        closeTimer?.cancel()
        let close = SessionClose(
            closedBy: closer, code: closeCode, reason: closeReason, clientToTarget: clientToTarget,
            targetToClient: targetToClient)
        for tap in taps { tap.closed(close) }
        taps = []
        backend?.ended(close)
        backend = nil
        let millis = (NIODeadline.now() - started).nanoseconds / 1_000_000
        let fraction = String(millis % 1000)
        let durationText = "\(millis / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
        logger.info(
            "session \(id) closed by \(closer.name), code \(closeCode.map(String.init) ?? "none"): client \(info.clientAddress), target \(info.target.sessionTarget.displayString), \(durationText) s, client->target \(clientToTarget.bytes) bytes in \(clientToTarget.frames) frames, target->client \(targetToClient.bytes) bytes in \(targetToClient.frames) frames"
        )
        target = nil
        context = nil
        server.unregister(id)
    }
}
