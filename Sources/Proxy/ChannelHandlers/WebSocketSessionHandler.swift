import Logging
import NIOCore
import RecordFormat
import WebSocketWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One proxied session, on the client's channel after the handshake: parses client frames with
/// ``ClientFrameStateMachine``, feeds what happens to a ``SessionStateMachine`` and performs the
/// actions it returns — relaying to and from the target connection (or a ``SessionBackend``),
/// answering pings, closing both sides.
///
/// Both channels run with auto-read off on the same event loop; each side is read only while the
/// other is writable, so a slow peer stops the fast one instead of growing buffers.
final class WebSocketSessionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Info {
        var clientAddress: String
        /// The balancer the client came through, when it named the client (see ``ConnectionRequest``).
        var viaAddress: String? = nil
        var listenAddress: String
        var requestPath: String
        var subprotocol: String?
        /// Where this session connects (fixed, or chosen by the target resolver); nil when a
        /// session backend drives it.
        var target: ProxyConfiguration.Target?
        /// The client came over TLS.
        var tls: Bool
        var mode: PayloadMode
        /// permessage-deflate as agreed in the handshake; nil: not used.
        var deflate: PerMessageDeflate? = nil

        /// The target as logs name it.
        var targetName: String { target?.sessionTarget.displayString ?? "none (session backend)" }
    }

    /// Client bytes not parsed yet. While a parse runs, its buffer is out of here (so it stays
    /// uniquely referenced and discarding read bytes doesn't copy); bytes that arrive meanwhile
    /// wait in `arrived`.
    private enum Inbound {
        case waiting(ByteBuffer?)
        case parsing(arrived: ByteBuffer?)
    }

    private let server: ServerContext
    private let info: Info
    private var id: UInt64 = 0
    private var frames: ClientFrameStateMachine
    /// Compresses messages to the client when permessage-deflate was agreed.
    private let deflater: PerMessageDeflater?
    /// What compression saved, for the metrics (permessage-deflate and metrics only).
    private let compressionMeter: CompressionMeter?
    private var machine: SessionStateMachine
    private var totals = SessionTotals()
    /// The session's part in the proxy's metrics; nil without metrics.
    private var meter: SessionMeter?
    private var context: ChannelHandlerContext?
    private var target: (any Channel)?
    /// Drives the session instead of a target connection (``ProxyConfiguration/Upstream/backend(_:)``).
    private var backend: (any SessionBackend)?
    private var inbound: Inbound
    private var taps: [any SessionTap] = []
    private var started = NIODeadline.now()
    private var heartbeat: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    private let logger: Logger
    private let targetConnector: any TargetConnector

    /// - Parameters:
    ///   - initialBytes: what the client sent right after its request.
    ///   - targetConnector: nil: connect to `info.target` over the network.
    init(
        server: ServerContext, info: Info, initialBytes: ByteBuffer? = nil, targetConnector: (any TargetConnector)? = nil
    ) {
        self.server = server
        self.info = info
        self.inbound = .waiting(initialBytes)
        self.targetConnector = targetConnector ?? SocketTargetConnector(configuration: server.configuration)
        self.frames = ClientFrameStateMachine(
            maxMessageSize: server.configuration.limits.maxMessageSize, mode: info.mode, deflate: info.deflate)
        self.deflater = info.deflate.map { PerMessageDeflater(parameters: $0) }
        self.compressionMeter =
            info.deflate == nil ? nil : server.configuration.metrics.map { CompressionMeter(metrics: $0) }
        if let compressionMeter {
            frames.countCompression(into: compressionMeter)
            deflater?.meter = compressionMeter
        }
        self.machine = SessionStateMachine(
            configuration: .init(
                heartbeatInterval: server.configuration.heartbeatInterval,
                closeHandshakeTimeout: server.configuration.timeouts.closeHandshake))
        self.logger = server.logger
    }

    // MARK: Client channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        id = server.register(self, on: context.eventLoop)
        started = .now()
        meter = server.configuration.metrics.map { SessionMeter(metrics: $0, now: started) }
        let sessionContext = SessionContext(sessionID: id, eventLoop: context.eventLoop)
        taps = server.configuration.sessionTapFactories.map { $0(sessionContext) }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        if case .backend = server.configuration.upstream {
            // Like a target connection, the backend starts once the handshake handlers are gone.
            context.eventLoop.execute {
                let (session, context) = bound.value
                session.perform(session.machine.backendReady(clientActive: context.channel.isActive), context)
            }
        } else {
            guard let target = info.target else { preconditionFailure("a session without a backend has a target") }
            targetConnector.connect(to: target, for: NIOLoopBound(self, eventLoop: context.eventLoop))
                .whenComplete { result in
                    let (session, context) = bound.value
                    switch result {
                    case .success(let channel): session.targetConnected(channel, context: context)
                    case .failure(let error): session.targetFailed(error, context: context)
                    }
                }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        switch inbound {
        case .waiting(.some(var pending)) where pending.readableBytes > 0:
            inbound = .waiting(nil)  // keep `pending` uniquely referenced while appending
            pending.writeBuffer(&buffer)
            inbound = .waiting(pending)
        case .waiting:
            inbound = .waiting(buffer)
        case .parsing(.some(var arrived)):
            inbound = .parsing(arrived: nil)
            arrived.writeBuffer(&buffer)
            inbound = .parsing(arrived: arrived)
        case .parsing(.none):
            inbound = .parsing(arrived: buffer)
        }
        // Bytes that arrive before the target is up (sent right after the request) wait here.
        if !machine.isConnecting { parseClientBytes(context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        target?.flush()
        context.flush()
        meter?.flush(totals)
        perform(machine.clientReadComplete(), context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let isWritable = context.channel.isWritable
        perform(machine.clientWritabilityChanged(isWritable: isWritable), context)
        backend?.clientWritabilityChanged(isWritable: isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(machine.clientInactive(pendingBytes: hasPendingBytes), context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("client \(info.clientAddress): \(error)")
        perform(machine.clientError(), context)
    }

    // MARK: Client frames

    private var hasPendingBytes: Bool {
        if case .waiting(.some(let pending)) = inbound { return pending.readableBytes > 0 }
        return false
    }

    /// Parses the waiting client bytes frame by frame, feeding each frame to the state machine;
    /// false when a parse is already running (an action can close the target synchronously, and
    /// the running parse goes on with the machine's new state).
    @discardableResult
    private func parseClientBytes(context: ChannelHandlerContext) -> Bool {
        guard case .waiting(var pending) = inbound else { return false }
        inbound = .parsing(arrived: nil)
        guard var buffer = pending.take() else {
            inbound = .waiting(nil)
            return true
        }
        while true {
            parseFrames(&buffer, context: context)
            guard case .parsing(var arrived) = inbound, var more = arrived.take() else { break }
            // Bytes read during the parse (the buffer is empty now: the frame parser takes all it is given).
            inbound = .parsing(arrived: nil)
            buffer.discardReadBytes()
            buffer.writeBuffer(&more)
        }
        if buffer.readableBytes == 0 {
            inbound = .waiting(nil)
        } else {
            buffer.discardReadBytes()
            inbound = .waiting(buffer)
        }
        return true
    }

    private func parseFrames(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) {
        while true {
            let actions: SessionStateMachine.Actions
            switch frames.next(&buffer) {
            case .needMoreData:
                return
            case .data(let opcode, let isFinal, let payload, let forward):
                note(.clientToTarget, opcode, isFinal, payload)
                actions = machine.clientData(forward)
            case .ping(let payload):
                note(.clientToTarget, .ping, true, payload)
                actions = machine.clientPing(payload)
            case .pong(let payload):
                note(.clientToTarget, .pong, true, payload)
                actions = machine.clientPong()
            case .close(let code, let reason, let payload):
                note(.clientToTarget, .close, true, payload)
                actions = machine.clientClose(code: code, reason: reason)
            case .fail(let code, let reason):
                logger.info("client \(info.clientAddress) broke the protocol: \(reason); closing with \(code)")
                actions = machine.clientProtocolFailure(code: code, reason: reason)
            }
            perform(actions, context)
        }
    }

    private func note(_ direction: Direction, _ opcode: Opcode, _ isFinal: Bool, _ payload: ByteBuffer) {
        totals.count(direction, payloadBytes: payload.readableBytes)
        for tap in taps { tap.frame(direction, opcode: opcode, isFinal: isFinal, payload: payload) }
    }

    // MARK: Actions

    private func perform(_ actions: SessionStateMachine.Actions, _ context: ChannelHandlerContext) {
        switch actions {
        case .none:
            break
        case .one(let action):
            perform(action, context)
        case .many(let list):
            for action in list { perform(action, context) }
        }
    }

    private func perform(_ action: SessionStateMachine.Action, _ context: ChannelHandlerContext) {
        switch action {
        case .open:
            open(context: context)
        case .parseClientBytes:
            // As if the bytes had just been read; a parse already running completes on its own.
            if parseClientBytes(context: context) { channelReadComplete(context: context) }
        case .relayToClient(let bytes):
            let frame = info.mode.frame(carrying: bytes, allocator: context.channel.allocator)
            send(context: context, opcode: frame.opcode, payload: frame.payload, compressible: true)
        case .relayToTarget(let bytes):
            if let backend {
                backend.clientData(bytes)
            } else {
                target?.write(bytes, promise: nil)
            }
        case .sendPong(let payload):
            send(context: context, opcode: .pong, payload: payload)
        case .sendPing:
            var payload = context.channel.allocator.buffer(capacity: 8)
            payload.writeString("ping")
            send(context: context, opcode: .ping, payload: payload)
        case .sendClose(let code, let reason):
            let payload = ServerFrameEncoder.closePayload(code: code, reason: reason, allocator: context.channel.allocator)
            send(context: context, opcode: .close, payload: payload)
        case .flushClient:
            context.flush()
        case .readClient:
            context.read()
        case .readTarget:
            target?.read()
        case .closeTarget:
            closeTarget()
        case .shutClientOutput:
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { result in
                switch result {
                case .success:
                    channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
                case .failure:
                    channel.close(promise: nil)
                }
            }
        case .closeClient:
            context.close(promise: nil)
        case .startTimer(let timer, let delay):
            // An earlier action of the same list may have closed the client synchronously and
            // finished the session: no timer may hold it then.
            guard !machine.isFinished else { return }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let scheduled = context.eventLoop.scheduleTask(in: delay) {
                let (session, context) = bound.value
                session.timerFired(timer, context: context)
            }
            switch timer {
            case .heartbeat: heartbeat?.cancel(); heartbeat = scheduled
            case .closeHandshake: closeTimer?.cancel(); closeTimer = scheduled
            }
        case .cancelTimer(.heartbeat):
            heartbeat?.cancel()
            heartbeat = nil
        case .cancelTimer(.closeHandshake):
            closeTimer?.cancel()
            closeTimer = nil
        case .finish(let ending):
            finish(ending)
        }
    }

    private func timerFired(_ timer: SessionStateMachine.Timer, context: ChannelHandlerContext) {
        switch timer {
        case .heartbeat: heartbeat = nil
        case .closeHandshake: closeTimer = nil
        }
        perform(machine.timerFired(timer), context)
    }

    /// Writes one final frame to the client (not flushed); the proxy's own frames are counted as
    /// target-to-client. A `compressible` (data) message is compressed when permessage-deflate
    /// was agreed and the deflater finds it worth it; taps see the message as it was.
    private func send(context: ChannelHandlerContext, opcode: Opcode, payload: ByteBuffer, compressible: Bool = false) {
        note(.targetToClient, opcode, true, payload)
        let allocator = context.channel.allocator
        let compressed = compressible ? deflater?.compress(payload, allocator: allocator) : nil
        let wire = compressed ?? payload
        let header = ServerFrameEncoder.header(
            opcode: opcode, length: wire.readableBytes, compressed: compressed != nil, allocator: allocator)
        context.write(wrapOutboundOut(header), promise: nil)
        if wire.readableBytes > 0 { context.write(wrapOutboundOut(wire), promise: nil) }
    }

    /// The session is up: the taps get its metadata; a backend is made and started.
    private func open(context: ChannelHandlerContext) {
        var provider: (any SessionBackendProvider)?
        if case .backend(let backendProvider) = server.configuration.upstream { provider = backendProvider }
        if let provider {
            backend = provider.makeBackend(
                SessionBackendInfo(
                    sessionID: id, clientAddress: info.clientAddress, requestPath: info.requestPath,
                    subprotocol: info.subprotocol))
        }
        let open = SessionOpen(
            startWallMicros: Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()),
            clientAddress: info.clientAddress, listenAddress: info.listenAddress,
            target: info.target?.sessionTarget ?? .unknown, requestPath: info.requestPath,
            subprotocol: info.subprotocol, tls: info.tls, viaAddress: info.viaAddress)
        for tap in taps { tap.opened(open) }
        logger.info("\(SessionLogLine.opened(session: id, info, backend: provider != nil))")
        backend?.start(SessionDriver(session: NIOLoopBound(self, eventLoop: context.eventLoop)))
    }

    /// Closes the target connection once what was written to it has been sent (bounded by the
    /// close-handshake timeout, for a target that stopped reading).
    private func closeTarget() {
        guard let target, target.isActive else { return }
        let timeout = machine.configuration.closeHandshakeTimeout
        let fallback = target.eventLoop.scheduleTask(in: timeout) { target.close(promise: nil) }
        target.writeAndFlush(target.allocator.buffer(capacity: 0)).whenComplete { _ in
            fallback.cancel()
            target.close(promise: nil)
        }
    }

    private func finish(_ ending: SessionStateMachine.Ending) {
        let close = totals.close(ending)
        compressionMeter?.flush()
        meter?.ended(totals, closedBy: ending.closer)
        meter = nil
        for tap in taps { tap.closed(close) }
        taps = []
        backend?.ended(close)
        backend = nil
        let elapsed = (NIODeadline.now() - started).nanoseconds
        logger.info("\(SessionLogLine.closed(session: id, info, close, elapsedNanoseconds: elapsed))")
        target = nil
        context = nil
        server.unregister(id)
    }

    // MARK: Server

    /// Server shutdown, grace period over: close both connections now.
    func forceClose() {
        target?.close(promise: nil)
        context?.close(promise: nil)
    }

    /// Server shutdown: close with 1001.
    func shutdown() {
        guard let context else { return }
        perform(machine.serverShutdown(), context)
    }

    // MARK: Session backend

    var clientIsWritable: Bool { context?.channel.isWritable ?? false }

    func backendFlush() {
        context?.flush()
        meter?.flush(totals)
    }

    func backendClose(code: UInt16?, reason: String) {
        guard let context else { return }
        perform(machine.backendClose(code: code, reason: reason), context)
    }

    // MARK: Target side (called by TargetRelayHandler)

    private func targetConnected(_ channel: any Channel, context: ChannelHandlerContext) {
        guard machine.isConnecting else {
            // Too late: the session ended (or is closing) while the connect ran. Nothing was written
            // to this connection, so it is closed at once and not kept.
            channel.close(promise: nil)
            return
        }
        target = channel
        perform(
            machine.targetConnected(clientWritable: context.channel.isWritable, targetWritable: channel.isWritable),
            context)
    }

    private func targetFailed(_ error: any Error, context: ChannelHandlerContext) {
        if machine.isConnecting {
            logger.error("session \(id): cannot connect to target \(info.targetName): \(socketErrorText(error))")
            meter?.targetConnectFailed()
        }
        perform(machine.targetFailed(), context)
    }

    /// Bytes from the target (or the backend) go to the client as one frame per read.
    func targetRead(_ data: ByteBuffer) {
        guard let context else { return }
        perform(machine.targetBytes(data), context)
    }

    func targetReadComplete() {
        guard let context, target != nil else { return }
        context.flush()
        meter?.flush(totals)
        perform(machine.targetReadComplete(), context)
    }

    func targetWritabilityChanged(isWritable: Bool) {
        guard let context else { return }
        perform(machine.targetWritabilityChanged(isWritable: isWritable), context)
    }

    func targetInactive(error: (any Error)?) {
        guard let context else { return }
        let actions = machine.targetClosed(failed: error != nil)
        if let error, !actions.isEmpty { logger.info("session \(id): target connection failed: \(error)") }
        perform(actions, context)
    }
}
