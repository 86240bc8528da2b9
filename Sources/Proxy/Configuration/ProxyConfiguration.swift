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

    /// Where sessions go.
    public enum Upstream: Sendable {
        /// Every session connects to the same target (`target_addr:target_port`, `--unix-target`).
        case fixed(Target)
        /// Each session's target is chosen from its request (token plugins).
        case resolver(any TargetResolver)
        /// Sessions are driven by backends from this provider instead of a connection (a replay); the
        /// handshake accepts the provider's subprotocols.
        case backend(any SessionBackendProvider)

        /// The target of ``fixed(_:)``; nil for the other cases.
        public var fixedTarget: Target? {
            if case .fixed(let target) = self { return target }
            return nil
        }

        /// The resolver of ``resolver(_:)``; nil for the other cases.
        public var resolver: (any TargetResolver)? {
            if case .resolver(let resolver) = self { return resolver }
            return nil
        }

        /// How the listener's log line describes where sessions go.
        public var summary: String {
            switch self {
            case .fixed(let target): "proxying to \(target.sessionTarget.displayString)"
            case .resolver(let resolver): resolver.summary
            case .backend: "sessions driven by a session backend"
            }
        }
    }

    /// Sizes that bound what a client or target can make the proxy hold.
    public struct Limits: Sendable {
        /// Largest client message accepted, all fragments together; larger ones are closed with 1009.
        /// 64 MiB: far above anything VNC sends, small enough that one client can't exhaust memory.
        public var maxMessageSize = 64 << 20
        /// Largest HTTP header block accepted in the handshake; larger ones get 431. 16 KiB as in
        /// common web servers.
        public var maxHeaderBlockSize = 16 << 10
        /// Write-buffer water marks for both sides of a session. Reading the other side pauses above
        /// `high`, so a slow peer holds at most about `high` plus one read per direction: 1 MiB
        /// keeps a session far below 4 MiB while leaving room for bursts.
        public var writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 256 << 10, high: 1 << 20)
        /// Largest single read from either socket. Reads start at 2 KiB (what an idle session keeps)
        /// and double while they come back full;
        /// 1 MiB (socat's buffer size too) lets a bulk transfer move in few, large frames (fewer
        /// system calls and frame headers per byte; measured ~15% less CPU per byte browser→target
        /// than 256 KiB) while a session's buffered data stays far below 4 MiB.
        public var maximumReadSize = 1 << 20
        /// The most connections served at once, counted from a complete request head to the close
        /// (`--max-connections`; see ConnectionLimiter); more are answered 503. nil: no limit
        /// other than the open-file limit.
        public var maxConnections: Int?
        /// The most connections of one client (its IP address, the real client's behind a trusted
        /// balancer) counted as ``maxConnections`` counts them (`--max-connections-per-ip`). nil: no limit.
        public var maxConnectionsPerClient: Int?

        public init() {}

        /// The receive buffer allocator both sides of a session use (see ``maximumReadSize``).
        var recvAllocator: AdaptiveRecvByteBufferAllocator {
            AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: maximumReadSize)
        }
    }

    /// How long the proxy waits for things, per connection and for the whole server.
    public struct Timeouts: Sendable {
        /// Clients that don't finish the handshake within this are dropped (10 s).
        public var handshake = TimeAmount.seconds(10)
        /// Connecting to a target fails after this (10 s).
        public var targetConnect = TimeAmount.seconds(10)
        /// After the proxy sends a close frame, how long it waits for the client's before closing TCP.
        public var closeHandshake = TimeAmount.seconds(2)
        /// On shutdown, how long sessions get to finish their close handshake before being cut.
        public var shutdownGrace = TimeAmount.seconds(3)
        /// On an outside stop (a signal, ``ProxyServer/stop(_:)``) with a ``healthCheck``: how long the
        /// listener keeps taking sessions while the health path already answers 503, so that a balancer
        /// notices before new sessions are refused (`--lame-duck`). Zero: the listener closes at once.
        public var lameDuck = TimeAmount.zero
        /// On shutdown, how long open sessions keep running after the listener closed before they are
        /// sent 1001 (`--drain-timeout`). Zero: at once.
        public var drain = TimeAmount.zero
        /// Stop accepting this long after start, and exit once no session is left (`--timeout`).
        public var serving: TimeAmount?
        /// Exit once no session has been active for this long (`--idle-timeout`).
        public var idle: TimeAmount?

        public init() {}
    }

    /// Address to listen on; nil listens on every interface (IPv4, or IPv6 with `preferIPv6`).
    public var listenHost: String?
    /// TCP port to listen on; 0 picks a free one (see ``ProxyServer/localPort``).
    public var listenPort: Int
    /// Prefer IPv6 when resolving `listenHost` (`-6`), and listen on `::` when no host is given.
    public var preferIPv6: Bool
    /// Where sessions go.
    public var upstream: Upstream
    public var limits = Limits()
    public var timeouts = Timeouts()
    /// permessage-deflate with clients that offer it (`--compression`, default `auto`).
    public var compression = CompressionMode.auto
    /// Send a ping to each client this often (`--heartbeat`); nil sends none.
    public var heartbeatInterval: TimeAmount?
    /// Exit after the first WebSocket session ends (`--run-once`).
    public var runOnce = false
    /// One tap per factory is made for every session (`--traffic`, recording).
    public var sessionTapFactories: [SessionTapFactory] = []
    /// Called once on shutdown after sessions are closed and before the process exits (e.g. to
    /// flush recordings).
    public var shutdownHook: (@Sendable () async -> Void)?
    /// Event-loop threads; one per core by default.
    public var eventLoopThreads = System.coreCount
    /// Checks requests before they are served (auth plugins): WebSocket upgrades always, web
    /// requests when ``authenticateWebRequests`` is on.
    public var authenticator: (any RequestAuthenticator)?
    /// Apply ``authenticator`` to web requests too (`--web-auth`).
    public var authenticateWebRequests = false
    /// Answers plain HTTP requests (`--web`); nil answers them with 404/405.
    public var webResponder: (any WebResponder)?
    /// Answers a load balancer's check on its own path (`--health-path`), before auth and the web
    /// server; nil: no health path.
    public var healthCheck: HealthCheck?

    /// TLS for clients (`--cert` …): connections starting with a TLS hello are decrypted, the
    /// rest served plain unless `--ssl-only`. nil: no TLS.
    public var tls: TLSServer?
    /// TLS towards targets (`--ssl-target`); nil connects in plain TCP.
    public var targetTLS: TLSClient?

    /// Where the listening socket comes from: ``listenHost``/``listenPort`` by default, a unix
    /// socket (`--unix-listen`), or one inherited on a descriptor (`--inetd`).
    public var listener = Listener.address
    /// The real client behind a load balancer: PROXY protocol (`--proxy-protocol`), forwarded
    /// headers from trusted peers (`--trust-proxy`). Off by default.
    public var balancer = BalancerSettings()
    /// Called once the server listens, before any session: a daemon detaches there, a wrapped
    /// program is started there.
    public var listeningHook: (@Sendable () -> Void)?
    /// Counts sessions, refusals, bytes and frames, and times handshakes and token lookups
    /// (`--metrics-listen`); nil counts nothing.
    public var metrics: ProxyMetrics?

    public init(listenHost: String? = nil, listenPort: Int, preferIPv6: Bool = false, upstream: Upstream) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.preferIPv6 = preferIPv6
        self.upstream = upstream
    }
}
