import CoreMetrics
import RecordFormat

/// The proxy's series (`--metrics-listen`; every one is described in docs/proxy.md, "Metrics"),
/// made once from a swift-metrics factory so that nothing on a session's path looks anything up.
///
/// Counters behind these handles are atomic (swift-prometheus: one relaxed atomic add), and the
/// session path adds to them once per read burst, not once per frame (see ``SessionMeter``).
/// Other parts of a program (a drain, a recording rotation) make their own series from
/// ``factory``; values that are read rather than counted (open descriptors, a queue's depth) are
/// set just before each scrape by whoever serves the endpoint.
public final class ProxyMetrics: Sendable {
    /// Why a WebSocket session was refused before it started (label `reason`).
    public enum RefusalReason: String, Sendable, CaseIterable {
        /// An auth plugin said no (`--auth-plugin`).
        case auth
        /// The token plugin does not know the token (404).
        case unknownToken = "unknown_token"
        /// No token in the request, or one the plugin rejects (400, 403).
        case badToken = "bad_token"
        /// The token store could not answer, or answered something unusable (502, 503).
        case tokenStoreDown = "token_store_down"
        /// Not a valid WebSocket opening handshake (RFC 6455 §4.2.1), or malformed HTTP.
        case badHandshake = "bad_handshake"
        /// The TLS handshake failed.
        case tls
        /// `--max-connections` connections were open (503).
        case maxConnections = "max_connections"
        /// The client already had `--max-connections-per-ip` connections open (503).
        case maxConnectionsPerIP = "max_connections_per_ip"
    }

    /// What a token lookup came to (label `result`).
    public enum LookupResult: String, Sendable, CaseIterable {
        case found
        case unknown
        case refused
        case storeDown = "store_down"
    }

    /// The factory the series were made from; other parts of the program make theirs from it too.
    public let factory: any MetricsFactory
    /// The recording's series (watch the recorder with ``RecordingMetrics/watch(_:)``; update them
    /// before each scrape).
    public let recording: RecordingMetrics

    let sessionsOpen: Meter
    let sessionsEnded: [Closer: Counter]
    let refusals: [RefusalReason: Counter]
    let bytes: [Direction: Counter]
    let frames: [Direction: Counter]
    let sessionDuration: Timer
    let handshakeDuration: Timer
    let targetConnectFailures: Counter
    let handshakeTimeouts: Counter

    /// Timer labels and the histogram buckets that suit them (a Prometheus factory takes these).
    public static let durationBuckets: [String: [Duration]] = [
        Label.sessionDuration: [1, 10, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600].map { .seconds($0) },
        Label.handshakeDuration: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000].map { .milliseconds($0) },
        Label.tokenLookupDuration: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000].map { .milliseconds($0) },
    ]

    /// The series' names (docs/proxy.md, "Metrics").
    public enum Label {
        public static let sessionsOpen = "websockify_sessions_open"
        public static let sessionsEnded = "websockify_sessions_total"
        public static let refusals = "websockify_sessions_refused_total"
        public static let bytes = "websockify_bytes_total"
        public static let frames = "websockify_frames_total"
        public static let sessionDuration = "websockify_session_duration_seconds"
        public static let handshakeDuration = "websockify_handshake_duration_seconds"
        public static let targetConnectFailures = "websockify_target_connect_failures_total"
        public static let handshakeTimeouts = "websockify_handshake_timeouts_total"
        public static let tokenLookups = "websockify_token_lookups_total"
        public static let tokenLookupDuration = "websockify_token_lookup_duration_seconds"
    }

    /// Each series' `# HELP` text, by name (the recording's included).
    public static let help: [String: String] = [
        Label.sessionsOpen: "WebSocket sessions open now.",
        Label.sessionsEnded: "WebSocket sessions ended, by who ended them.",
        Label.refusals: "WebSocket requests refused before a session began, by reason.",
        Label.bytes: "Payload bytes of the frames that crossed the proxy, by direction.",
        Label.frames: "Frames that crossed the proxy, by direction (the proxy's own to the client included).",
        Label.sessionDuration: "How long WebSocket sessions lasted.",
        Label.handshakeDuration: "From a WebSocket request's head to the 101 answer (auth and token lookup included).",
        Label.targetConnectFailures: "Sessions whose target connection failed.",
        Label.handshakeTimeouts: "Connections dropped for sending no complete request in time (--handshake-timeout).",
        Label.tokenLookups: "Token lookups by plugin and result.",
        Label.tokenLookupDuration: "How long token lookups took, by plugin.",
    ].merging(RecordingMetrics.help) { first, _ in first }.merging(CompressionMeter.help) { first, _ in first }

    public init(factory: any MetricsFactory) {
        self.factory = factory
        recording = RecordingMetrics(factory: factory)
        sessionsOpen = Meter(label: Label.sessionsOpen, factory: factory)
        sessionsEnded = Dictionary(
            uniqueKeysWithValues: Closer.allCases.map {
                ($0, Counter(label: Label.sessionsEnded, dimensions: [("closed_by", Self.name(of: $0))], factory: factory))
            })
        refusals = Dictionary(
            uniqueKeysWithValues: RefusalReason.allCases.map {
                ($0, Counter(label: Label.refusals, dimensions: [("reason", $0.rawValue)], factory: factory))
            })
        bytes = Dictionary(
            uniqueKeysWithValues: Direction.allCases.map {
                ($0, Counter(label: Label.bytes, dimensions: [("direction", Self.name(of: $0))], factory: factory))
            })
        frames = Dictionary(
            uniqueKeysWithValues: Direction.allCases.map {
                ($0, Counter(label: Label.frames, dimensions: [("direction", Self.name(of: $0))], factory: factory))
            })
        sessionDuration = Timer(label: Label.sessionDuration, factory: factory)
        handshakeDuration = Timer(label: Label.handshakeDuration, factory: factory)
        targetConnectFailures = Counter(label: Label.targetConnectFailures, factory: factory)
        handshakeTimeouts = Counter(label: Label.handshakeTimeouts, factory: factory)
    }

    /// A session was refused for `reason`.
    public func refused(_ reason: RefusalReason) {
        refusals[reason]?.increment()
    }

    /// The series of one token plugin's lookups (made when first asked for; the factory returns
    /// the same series for the same labels).
    func tokenLookups(plugin: String, result: LookupResult) -> Counter {
        Counter(label: Label.tokenLookups, dimensions: [("plugin", plugin), ("result", result.rawValue)], factory: factory)
    }

    func tokenLookupDuration(plugin: String) -> Timer {
        Timer(label: Label.tokenLookupDuration, dimensions: [("plugin", plugin)], factory: factory)
    }

    static func name(of closer: Closer) -> String {
        switch closer {
        case .client: "client"
        case .target: "target"
        case .proxy: "proxy"
        case .unknown: "unknown"
        }
    }

    static func name(of direction: Direction) -> String {
        switch direction {
        case .clientToTarget: "client_to_target"
        case .targetToClient: "target_to_client"
        }
    }
}
