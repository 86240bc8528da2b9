import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import RecordFormat
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The WebSocket-to-TCP proxy: listens, upgrades, relays, and shuts down cleanly.
///
/// A `Service`: ``serve()`` (and ``run()``, which is it without the reason) returns once the server
/// stopped: on graceful shutdown of the service group it runs in, on SIGTERM/SIGINT when it handles
/// signals itself (``handleSignals``), after the first session with `runOnce`, when
/// `timeout`/`idleTimeout` expire, or on ``stop(_:)``. It then shuts down in the steps of
/// ``ShutdownSequence``: the health path answers 503 at once; on a stop from outside (a signal, the
/// group, ``stop(_:)``) with a health path the listener keeps taking sessions for the lame-duck period
/// (`timeouts.lameDuck`); it then closes the listener, lets open sessions run up to `timeouts.drain`,
/// closes those left with 1001, cuts those that have not closed after the grace period, waits for
/// them to end, and runs the configuration's shutdown hook. ``hurry()`` (a second SIGTERM or SIGINT)
/// shortens it.
public final class ProxyServer: Service, Sendable {
    /// Why the server stopped.
    public enum StopReason: Sendable, Equatable {
        case signal(Int32)
        case runOnce
        case timeout
        case idleTimeout
        case requested
        /// The service group it runs in is shutting down.
        case gracefulShutdown

        /// Whether someone else stopped the server (a signal, the group, ``stop(_:)``) rather than its
        /// own rules (`runOnce`, the timeouts): only then has a balancer to be given a lame duck.
        var isFromOutside: Bool {
            switch self {
            case .signal, .requested, .gracefulShutdown: true
            case .runOnce, .timeout, .idleTimeout: false
            }
        }
    }

    public let configuration: ProxyConfiguration
    private let logger: Logger
    private let stopPromise: EventLoopPromise<StopReason>
    private let group: MultiThreadedEventLoopGroup
    private let boundPort = NIOLockedValueBox<Int?>(nil)
    private let draining = NIOLockedValueBox(false)
    /// Set by the first ``stop(_:)``: a stop signal after it hurries instead.
    private let stopRequested = NIOLockedValueBox(false)
    /// ``hurry()`` calls not yet seen by a shutdown wait, and the wait under way.
    private let hurries = NIOLockedValueBox(Hurries())

    private struct Hurries {
        var pending = 0
        var waiter: EventLoopPromise<ShutdownSequence.Event>?
    }
    /// Install SIGTERM/SIGINT (stop) and SIGHUP (``reloadFiles()``) handlers in ``serve()``; off when a
    /// service group handles the signals.
    public let handleSignals: Bool

    public init(configuration: ProxyConfiguration, logger: Logger, handleSignals: Bool = true) {
        self.configuration = configuration
        self.logger = logger
        self.handleSignals = handleSignals
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        self.stopPromise = group.next().makePromise(of: StopReason.self)
    }

    private let started = NIOLockedValueBox(false)

    deinit {
        // A server that never ran still owns a promise and threads: release both.
        if !started.withLockedValue({ $0 }) {
            stopPromise.succeed(.requested)
            group.shutdownGracefully { _ in }
        }
    }

    /// The port actually listened on, once ``run()`` has bound.
    public var localPort: Int? { boundPort.withLockedValue { $0 } }

    /// Asks the server to stop as on SIGTERM.
    public func stop(_ reason: StopReason = .requested) {
        stopRequested.withLockedValue { $0 = true }
        stopPromise.succeed(reason)
    }

    /// Shortens the shutdown, as a second SIGTERM or SIGINT does: a lame-duck period or a drain under
    /// way ends at once (the listener closes, the sessions are sent 1001 now); during the sessions'
    /// close handshakes, the sessions are cut. Called before the shutdown began, it shortens the
    /// shutdown when it comes.
    public func hurry() {
        let waiter = hurries.withLockedValue { state in
            guard let waiter = state.waiter else {
                state.pending += 1
                return nil as EventLoopPromise<ShutdownSequence.Event>?
            }
            state.waiter = nil
            return waiter
        }
        waiter?.succeed(.hurried)
    }

    /// Serves until stopped (see the type's description); throws when it cannot listen.
    public func run() async throws {
        try await serve()
    }

    /// Serves until stopped; returns why.
    @discardableResult
    public func serve() async throws -> StopReason {
        // Registered for the whole run: a shutdown that began while binding is seen once listening.
        try await withGracefulShutdownHandler {
            try await serveUntilStopped()
        } onGracefulShutdown: {
            self.stop(.gracefulShutdown)
        }
    }

    private func serveUntilStopped() async throws -> StopReason {
        precondition(!started.withLockedValue { $0 }, "a ProxyServer serves only once")
        started.withLockedValue { $0 = true }
        let limit = Self.raiseFileLimit()
        if let limit {
            // Each session holds two descriptors; keep a few for the listener, logs and stdio.
            logger.info("open-file limit \(limit): room for about \(max(0, (Int(limit) - 16) / 2)) concurrent sessions")
        }
        let context = ServerContext(configuration: configuration, logger: logger) { [self] remaining in
            if configuration.runOnce {
                stop(.runOnce)
            } else if remaining == 0, draining.withLockedValue({ $0 }) {
                stop(.timeout)
            }
        }
        let maxHeader = configuration.limits.maxHeaderBlockSize
        let proxyProtocolRefusals =
            configuration.balancer.proxyProtocol ? NIOLockedValueBox(ProxyProtocolRefusalReporter()) : nil
        let tls = configuration.tls
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                // Out of descriptors, pause accepting instead of spinning (every kind of listener).
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptFailureHandler(logger: logger) { context.sessionCount })
                }
            }
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.writeBufferWaterMark, value: configuration.limits.writeBufferWaterMark)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 4)
            .childChannelOption(ChannelOptions.recvAllocator, value: configuration.limits.recvAllocator)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard !context.acceptingStopped else {
                        throw ChannelError.ioOnClosedChannel
                    }
                    let sync = channel.pipeline.syncOperations
                    // A balancer's PROXY protocol header comes before anything else, TLS included.
                    if let proxyProtocolRefusals {
                        try sync.addHandler(ProxyProtocolHandler(logger: logger, refusals: proxyProtocolRefusals))
                    }
                    try sync.addHandler(ConnectionSniffer(tls: tls, logger: logger))
                    try sync.addHandler(HeaderLimitHandler(limit: maxHeader), name: HandshakeHandler.limitName)
                    try sync.addHandler(
                        ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)),
                        name: HandshakeHandler.decoderName)
                    try sync.addHandler(HTTPResponseEncoder(), name: HandshakeHandler.encoderName)
                    try sync.addHandler(HandshakeHandler(server: context))
                }
            }

        // Before binding: once the port accepts, a signal must already mean "shut down cleanly".
        let signalSources = handleSignals ? installSignalHandlers() : []
        let host = configuration.listenHost ?? (configuration.preferIPv6 ? "::" : "0.0.0.0")
        let address =
            host.contains(":") ? "[\(host)]:\(configuration.listenPort)" : "\(host):\(configuration.listenPort)"
        let serverChannel: any Channel
        do {
            serverChannel = try await bindListener(bootstrap, host: host)
        } catch {
            for source in signalSources { source.cancel() }
            // NIO traps on a promise that is never completed.
            stopPromise.succeed(.requested)
            try? await group.shutdownGracefully()
            throw listenFailure(error, address: address)
        }
        let port = serverChannel.localAddress?.port ?? configuration.listenPort
        boundPort.withLockedValue { $0 = port }
        logger.info(
            "listening on \(serverChannel.localAddress.map(describe) ?? address), \(configuration.upstream.summary)"
        )

        if let tls = configuration.tls {
            logger.info(
                tls.settings.sslOnly
                    ? "TLS only (wss://, https://): plain connections are refused"
                    : "TLS and plain on one port (wss:// and ws://)")
            logger.info(
                "TLS certificate: \(tls.certificateNote); read again when \(tls.settings.followedFiles.joined(separator: ", ")) change, or on SIGHUP"
            )
        }
        if let balancer = configuration.balancer.summary { logger.info("\(balancer)") }
        configuration.listeningHook?()
        let timers = scheduleTimers(context: context, serverChannel: serverChannel)

        let reason = try await stopPromise.futureResult.get()
        for timer in timers { timer.cancel() }
        await shutDown(reason, context: context, serverChannel: serverChannel)
        // Signals stay watched until here: a second one hurries the shutdown.
        for source in signalSources { source.cancel() }
        if let hook = configuration.shutdownHook { await hook() }
        try? await group.shutdownGracefully()
        logger.info("stopped")
        return reason
    }

    /// Performs the ``ShutdownSequence`` until it finishes.
    private func shutDown(_ reason: StopReason, context: ServerContext, serverChannel: any Channel) async {
        let timeouts = configuration.timeouts
        var sequence = ShutdownSequence(
            durations: .init(
                lameDuck: timeouts.lameDuck, drain: timeouts.drain, closeGrace: timeouts.shutdownGrace,
                cutGrace: .seconds(1)))
        // The lame duck is for a balancer checking the health path, and only when the listener is
        // still open (`--timeout` may have closed it).
        let lameDuck = reason.isFromOutside && configuration.healthCheck != nil && !context.acceptingStopped
        var actions = sequence.start(lameDuck: lameDuck)
        var said = "stopping (\(reason))"
        while true {
            for action in actions {
                switch action {
                case .reportDraining:
                    // From here the health path answers 503.
                    context.enter(.draining)
                case .closeListener:
                    logger.info("\(said): closing listener and \(context.sessionCount) session(s)")
                    context.stopAccepting()
                    try? await serverChannel.close()
                case .closeSessions:
                    if sequence.durations.drain > .zero, context.sessionCount > 0 {
                        logger.info("\(said): closing \(context.sessionCount) session(s) with 1001 (going away)")
                    }
                    context.closeAllSessions()
                case .cutSessions:
                    // Cut the rest, so that their taps are told before the shutdown hook runs.
                    logger.info("cutting \(context.sessionCount) session(s) that did not close in time")
                    context.forceCloseAllSessions()
                case .wait(let limit, _) where sequence.step == .lameDuck:
                    logger.info(
                        "\(said): the health path answers 503; still accepting for \(Self.seconds(limit)) (lame duck)")
                case .wait(let limit, _) where sequence.step == .draining:
                    logger.info("draining \(context.sessionCount) session(s) for up to \(Self.seconds(limit))")
                case .wait, .finish:
                    break
                }
            }
            guard case .wait(let limit, let endsWhenNoSessions) = actions.last else { return }
            let event = await shutdownEvent(context, within: limit, endsWhenNoSessions: endsWhenNoSessions)
            switch (event, sequence.step) {
            case (.hurried, _): said = "hurried"
            case (.elapsed, .lameDuck): said = "lame duck over"
            case (.elapsed, .draining): said = "drain timeout over"
            default: break
            }
            if event == .hurried { logger.info("stop signal again: hurrying the shutdown") }
            actions = sequence.handle(event)
        }
    }

    /// Waits up to `limit`, or until ``hurry()``, or (when `endsWhenNoSessions`) until no session is
    /// open; says which came first.
    private func shutdownEvent(_ context: ServerContext, within limit: TimeAmount, endsWhenNoSessions: Bool) async
        -> ShutdownSequence.Event
    {
        let loop = group.next()
        let ended = loop.makePromise(of: ShutdownSequence.Event.self)
        let hurried = hurries.withLockedValue { state in
            guard state.pending == 0 else {
                state.pending -= 1
                return true
            }
            state.waiter = ended
            return false
        }
        if hurried { ended.succeed(.hurried) }
        // The end of the wait is decided under the lock hurry() takes the waiter with: a hurry that
        // comes after the deadline or the last session is counted for the next step, not lost on
        // this step's completed promise.
        let settle: @Sendable (ShutdownSequence.Event) -> Void = { [hurries] event in
            let mine = hurries.withLockedValue { state in
                guard let waiter = state.waiter, waiter.futureResult === ended.futureResult else { return false }
                state.waiter = nil
                return true
            }
            if mine { ended.succeed(event) }
        }
        let deadline = loop.scheduleTask(in: limit) { settle(.elapsed) }
        let noSessions = loop.makePromise(of: Bool.self)
        noSessions.futureResult.whenSuccess { none in if none { settle(.noSessionsLeft) } }
        if endsWhenNoSessions { context.notifyWhenNoSessions(noSessions) }
        let event = (try? await ended.futureResult.get()) ?? .elapsed
        deadline.cancel()
        // Every promise is completed (a later success is ignored).
        noSessions.succeed(false)
        hurries.withLockedValue { $0.waiter = nil }
        return event
    }

    /// `2 s`, `0.5 s`.
    static func seconds(_ amount: TimeAmount) -> String {
        let value = Double(amount.nanoseconds) / 1e9
        return value == value.rounded() ? "\(Int64(value)) s" : "\(value) s"
    }

    private func scheduleTimers(context: ServerContext, serverChannel: any Channel) -> [RepeatedTask] {
        var tasks: [RepeatedTask] = []
        let loop = group.next()
        if let timeout = configuration.timeouts.serving {
            let task = loop.scheduleRepeatedTask(initialDelay: timeout, delay: .hours(24 * 365)) { [self] task in
                task.cancel()
                logger.info("listener exit due to --timeout")
                if context.sessionCount == 0 {
                    stop(.timeout)
                } else {
                    draining.withLockedValue { $0 = true }
                    context.stopAccepting()
                    serverChannel.close(promise: nil)
                }
            }
            tasks.append(task)
        }
        if let idle = configuration.timeouts.idle {
            let step = TimeAmount.nanoseconds(max(min(idle.nanoseconds / 4, 1_000_000_000), 10_000_000))
            let task = loop.scheduleRepeatedTask(initialDelay: step, delay: step) { [self] _ in
                if let since = context.idleSince, NIODeadline.now() - since >= idle {
                    logger.info("exiting due to --idle-timeout: no session for \(idle.nanoseconds / 1_000_000_000) s")
                    stop(.idleTimeout)
                }
            }
            tasks.append(task)
        }
        return tasks
    }

    /// SIGTERM and SIGINT stop the server, and hurry its shutdown when it is already stopping; SIGHUP
    /// reads its files again (``reloadFiles()``).
    private func installSignalHandlers() -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                if number == SIGHUP {
                    reloadFiles()
                } else if stopRequested.withLockedValue({ $0 }) {
                    hurry()
                } else {
                    stop(.signal(number))
                }
            }
            source.resume()
            return source
        }
    }

    /// What SIGHUP does: reads the TLS certificate, key and CA file again at once (they are also
    /// followed on their own, see ``TLSServer``); new connections get the new certificate. Blocks on
    /// file I/O: call it off the event loop.
    public func reloadFiles() {
        if let tls = configuration.tls {
            tls.reload(logger: logger)
        } else {
            logger.info("SIGHUP: no certificate to read again (no --cert)")
        }
    }

    /// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit in force.
    static func raiseFileLimit() -> UInt64? {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return nil }
        if limits.rlim_cur < limits.rlim_max {
            var raised = limits
            raised.rlim_cur = limits.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limits.rlim_cur)
    }

    /// Resolves the listen address, taking an IPv6 result first when `preferIPv6`.
    static func resolve(host: String, port: Int, preferIPv6: Bool) throws -> SocketAddress {
        if let literal = try? SocketAddress(ipAddress: host, port: port) { return literal }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
            throw ProxyError.invalidAddress(host, why: "cannot resolve host name")
        }
        defer { freeaddrinfo(first) }
        var candidates: [SocketAddress] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            if let address = current.pointee.ai_addr {
                switch current.pointee.ai_family {
                case AF_INET:
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                        candidates.append(SocketAddress($0.pointee, host: host))
                    }
                case AF_INET6:
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                        candidates.append(SocketAddress($0.pointee, host: host))
                    }
                default:
                    break
                }
            }
            node = current.pointee.ai_next
        }
        let ordered =
            candidates.filter { ($0.protocol == .inet6) == preferIPv6 }
            + candidates.filter { ($0.protocol == .inet6) != preferIPv6 }
        guard let chosen = ordered.first else { throw ProxyError.invalidAddress(host, why: "no IPv4 or IPv6 address") }
        return chosen
    }
}
