import NIOHTTP1

/// An HTTP request on the proxy's port, with what the connection tells about its client: the
/// input of auth plugins, token lookups and the web server.
public struct ConnectionRequest: Sendable {
    /// The request line and headers as received.
    public var head: HTTPRequestHead
    /// The client: `1.2.3.4:5678` or `[::1]:5678` (or `unix:` and the socket path). Behind a
    /// balancer, the client it names (`--proxy-protocol`, `--trust-proxy`; then possibly without
    /// the port: `1.2.3.4`, `[::1]`), never what a request from an untrusted peer claims.
    public var clientAddress: String
    /// The balancer the request came through (the TCP peer) when ``clientAddress`` was taken from
    /// its PROXY protocol header or forwarded header; nil when the client connected directly.
    public var viaAddress: String?
    /// True when the request arrived over TLS.
    public var isTLS: Bool
    /// The common names in the subject of the client certificate that TLS verified
    /// (`--verify-client`); empty without TLS or without a verified certificate. Taken from the TLS
    /// session only, never from anything in the request.
    public var verifiedClientCommonNames: [String]

    public init(
        head: HTTPRequestHead, clientAddress: String, viaAddress: String? = nil, isTLS: Bool = false,
        verifiedClientCommonNames: [String] = []
    ) {
        self.head = head
        self.clientAddress = clientAddress
        self.viaAddress = viaAddress
        self.isTLS = isTLS
        self.verifiedClientCommonNames = verifiedClientCommonNames
    }

    /// True when the request asks for a WebSocket upgrade (`Upgrade: websocket`, as websockify
    /// decides); everything else, `Upgrade: h2c` included, is a plain web request.
    public var isWebSocketUpgrade: Bool {
        HandshakeDecision.tokens(head.headers, "upgrade").contains("websocket")
    }
}
