import Proxy
import StaticWeb

/// Everything a replay needs; the `wsreplay` executable only fills this in.
public struct ReplayConfiguration: Sendable {
    /// The recording (ours, or a legacy Python websockify one).
    public var file: String
    /// Address to listen on (default 127.0.0.1: a replay serves tests, not the world).
    public var listenHost: String
    /// Port to listen on; 0 picks a free one.
    public var listenPort: Int
    /// Play only this session (its number in the file); nil plays the sessions in order.
    public var session: UInt32?
    /// Pacing, client sync, wait timeout and RFB rules.
    public var engine: ReplayEngine.Options
    /// Exit after one session.
    public var once: Bool
    /// Start over after the last session instead of exiting.
    public var loop: Bool
    /// Where to write the JSON report, if anywhere.
    public var reportPath: String?
    /// Where to write the sessions as they happened against the client (`--record-client`): a new
    /// recording, written once every session has ended.
    public var recordClientPath: String?
    /// Serve wss:// (and https://) with this certificate too, on the same port.
    public var tls: TLSServerSettings?
    /// Also serve these files on the same port (`--web`), e.g. noVNC's.
    public var web: WebConfiguration?
    /// Counts sessions (the proxy's series and wsreplay's own) for `--metrics-listen`; nil counts nothing.
    public var metrics: ProxyMetrics?
    /// permessage-deflate with clients that offer it (`--compression`).
    public var compression = CompressionMode.auto

    public init(
        file: String, listenHost: String = "127.0.0.1", listenPort: Int, session: UInt32? = nil,
        engine: ReplayEngine.Options = .init(), once: Bool = false, loop: Bool = false, reportPath: String? = nil,
        web: WebConfiguration? = nil
    ) {
        self.file = file
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.session = session
        self.engine = engine
        self.once = once
        self.loop = loop
        self.reportPath = reportPath
        self.web = web
    }
}
