import NIOCore
import RecordFormat

/// Everything the proxy server needs to run; the CLI only fills this in.
public struct ProxyConfiguration: Sendable {
    /// Where sessions' TCP side goes.
    public enum Target: Sendable, Equatable {
        /// A host name or IP literal (no brackets) and a port.
        case hostPort(host: String, port: Int)
        /// A unix domain socket (`--unix-target`).
        case unixSocket(path: String)

        /// The record format's view of this target.
        public var sessionTarget: SessionTarget {
            switch self {
            case .hostPort(let host, let port): .hostPort(host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
            case .unixSocket(let path): .unixSocket(path)
            }
        }
    }

    /// Address to listen on; nil listens on every interface (IPv4, or IPv6 with `preferIPv6`).
    public var listenHost: String?
    /// TCP port to listen on; 0 picks a free one (see ``ProxyServer/localPort``).
    public var listenPort: Int
    /// Prefer IPv6 when resolving `listenHost` (`-6`), and listen on `::` when no host is given.
    public var preferIPv6: Bool
    /// Where each session connects.
    public var target: Target
    /// Largest client message accepted, all fragments together; larger ones are closed with 1009.
    /// 64 MiB: far above anything VNC sends, small enough that one client can't exhaust memory.
    public var maxMessageSize: Int
    /// Largest HTTP header block accepted in the handshake; larger ones get 431. 16 KiB as in
    /// common web servers.
    public var maxHeaderBlockSize: Int
    /// Clients that don't finish the handshake within this are dropped (10 s).
    public var handshakeTimeout: TimeAmount
    /// After the proxy sends a close frame, how long it waits for the client's before closing TCP.
    public var closeHandshakeTimeout: TimeAmount
    /// Send a ping to each client this often (`--heartbeat`); nil sends none.
    public var heartbeatInterval: TimeAmount?
    /// Exit after the first WebSocket session ends (`--run-once`).
    public var runOnce: Bool
    /// Stop accepting this long after start, and exit once no session is left (`--timeout`).
    public var timeout: TimeAmount?
    /// Exit once no session has been active for this long (`--idle-timeout`).
    public var idleTimeout: TimeAmount?
    /// Write-buffer water marks for both sides of a session. Reading the other side pauses above
    /// `high`, so a slow peer holds at most about `high` plus one read per direction: 1 MiB
    /// keeps a session far below 4 MiB while leaving room for bursts.
    public var writeBufferWaterMark: ChannelOptions.Types.WriteBufferWaterMark

    /// The receive buffer allocator both sides of a session use (see ``maximumReadSize``).
    var recvAllocator: AdaptiveRecvByteBufferAllocator {
        AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: maximumReadSize)
    }
    /// Largest single read from either socket. Reads start at 2 KiB (what an idle session keeps)
    /// and double while they come back full;
    /// 1 MiB (socat's buffer size too) lets a bulk transfer move in few, large frames (fewer
    /// system calls and frame headers per byte; measured ~15% less CPU per byte browser→target
    /// than 256 KiB) while a session's buffered data stays far below 4 MiB.
    public var maximumReadSize: Int
    /// On shutdown, how long sessions get to finish their close handshake before being cut.
    public var shutdownGracePeriod: TimeAmount
    /// One tap per factory is made for every session (`--traffic`, recording).
    public var sessionTapFactories: [SessionTapFactory]
    /// Called once on shutdown after sessions are closed and before the process exits (e.g. to
    /// flush recordings).
    public var shutdownHook: (@Sendable () async -> Void)?
    /// Event-loop threads; one per core by default.
    public var eventLoopThreads: Int
    /// When set, sessions are driven by this provider's backends instead of a TCP connection to
    /// ``target`` (which then only names the sessions in logs), and the handshake accepts the
    /// provider's subprotocols.
    public var sessionBackend: (any SessionBackendProvider)?
    /// Picks each session's target from its request (token plugins); nil sends every session to
    /// ``target``.
    public var targetResolver: (any TargetResolver)?
    /// Checks requests before they are served (auth plugins): WebSocket upgrades always, web
    /// requests when ``authenticateWebRequests`` is on.
    public var authenticator: (any RequestAuthenticator)?
    /// Apply ``authenticator`` to web requests too (`--web-auth`).
    public var authenticateWebRequests: Bool
    /// Answers plain HTTP requests (`--web`); nil answers them with 404/405.
    public var webResponder: (any WebResponder)?

    /// TLS for clients (`--cert` …): connections starting with a TLS hello are decrypted, the
    /// rest served plain unless `--ssl-only`. nil: no TLS.
    public var tls: TLSServer?
    /// TLS towards targets (`--ssl-target`); nil connects in plain TCP.
    public var targetTLS: TLSClient?

    /// Where the listening socket comes from: ``listenHost``/``listenPort`` by default, a unix
    /// socket (`--unix-listen`), or one inherited on a descriptor (`--inetd`).
    public var listener: Listener
    /// Called once the server listens, before any session: a daemon detaches there, a wrapped
    /// program is started there.
    public var listeningHook: (@Sendable () -> Void)?

    /// Where sessions go: ``targetResolver``, or else the fixed ``target``.
    public var effectiveTargetResolver: any TargetResolver { targetResolver ?? FixedTargetResolver(target) }

    public init(
        listenHost: String? = nil,
        listenPort: Int,
        preferIPv6: Bool = false,
        target: Target,
        maxMessageSize: Int = 64 << 20,
        maxHeaderBlockSize: Int = 16 << 10,
        handshakeTimeout: TimeAmount = .seconds(10),
        closeHandshakeTimeout: TimeAmount = .seconds(2),
        heartbeatInterval: TimeAmount? = nil,
        runOnce: Bool = false,
        timeout: TimeAmount? = nil,
        idleTimeout: TimeAmount? = nil,
        writeBufferWaterMark: ChannelOptions.Types.WriteBufferWaterMark = .init(low: 256 << 10, high: 1 << 20),
        maximumReadSize: Int = 1 << 20,
        shutdownGracePeriod: TimeAmount = .seconds(3),
        sessionTapFactories: [SessionTapFactory] = [],
        shutdownHook: (@Sendable () async -> Void)? = nil,
        eventLoopThreads: Int = System.coreCount,
        sessionBackend: (any SessionBackendProvider)? = nil,
        targetResolver: (any TargetResolver)? = nil,
        authenticator: (any RequestAuthenticator)? = nil,
        authenticateWebRequests: Bool = false,
        webResponder: (any WebResponder)? = nil,
        tls: TLSServer? = nil,
        targetTLS: TLSClient? = nil,
        listener: Listener = .address,
        listeningHook: (@Sendable () -> Void)? = nil
    ) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.preferIPv6 = preferIPv6
        self.target = target
        self.maxMessageSize = maxMessageSize
        self.maxHeaderBlockSize = maxHeaderBlockSize
        self.handshakeTimeout = handshakeTimeout
        self.closeHandshakeTimeout = closeHandshakeTimeout
        self.heartbeatInterval = heartbeatInterval
        self.runOnce = runOnce
        self.timeout = timeout
        self.idleTimeout = idleTimeout
        self.writeBufferWaterMark = writeBufferWaterMark
        self.maximumReadSize = maximumReadSize
        self.shutdownGracePeriod = shutdownGracePeriod
        self.sessionTapFactories = sessionTapFactories
        self.shutdownHook = shutdownHook
        self.eventLoopThreads = eventLoopThreads
        self.sessionBackend = sessionBackend
        self.targetResolver = targetResolver
        self.authenticator = authenticator
        self.authenticateWebRequests = authenticateWebRequests
        self.webResponder = webResponder
        self.tls = tls
        self.targetTLS = targetTLS
        self.listener = listener
        self.listeningHook = listeningHook
    }
}
