import NIOHTTP1

/// An HTTP request on the proxy's port, with what the connection tells about its client: the
/// input of auth plugins, token lookups and the web server.
public struct ConnectionRequest: Sendable {
    /// The request line and headers as received.
    public var head: HTTPRequestHead
    /// `1.2.3.4:5678` or `[::1]:5678` (or `unix:` and the socket path).
    public var clientAddress: String
    /// True when the request arrived over TLS.
    public var isTLS: Bool
    /// The common names in the subject of the client certificate that TLS verified
    /// (`--verify-client`); empty without TLS or without a verified certificate. Taken from the TLS
    /// session only, never from anything in the request.
    public var verifiedClientCommonNames: [String]

    public init(head: HTTPRequestHead, clientAddress: String, isTLS: Bool = false, verifiedClientCommonNames: [String] = []) {
        self.head = head
        self.clientAddress = clientAddress
        self.isTLS = isTLS
        self.verifiedClientCommonNames = verifiedClientCommonNames
    }

    /// True when the request asks for a WebSocket upgrade (`Upgrade: websocket`, as websockify
    /// decides); everything else, `Upgrade: h2c` included, is a plain web request.
    public var isWebSocketUpgrade: Bool {
        HandshakeDecision.tokens(head.headers, "upgrade").contains("websocket")
    }
}
