import NIOCore
import RecordFormat

/// Drives a WebSocket session after the handshake in place of the TCP relay (for example a replay
/// of a recording). The session handler still parses and validates client frames, answers pings,
/// runs the close handshake and feeds the taps; the backend only sees payload bytes.
///
/// Every call happens on the session's event loop, in order.
public protocol SessionBackend: AnyObject {
    /// The session is open; `driver` sends to the client until ``ended(_:)``.
    func start(_ driver: SessionDriver)
    /// Payload bytes of the client's data frames, in order (base64 already decoded).
    func clientData(_ bytes: ByteBuffer)
    /// The client connection's writability changed (backpressure).
    func clientWritabilityChanged(isWritable: Bool)
    /// The session is over (whoever closed it); no further calls follow.
    func ended(_ close: SessionClose)
}

/// Makes one ``SessionBackend`` per WebSocket session; given as ``ProxyConfiguration/Upstream/backend(_:)``.
public protocol SessionBackendProvider: Sendable {
    /// The subprotocols to accept for the next handshake, in order of preference (a subset of
    /// ``HandshakeDecision/supportedSubprotocols``).
    func subprotocolPreference() -> [String]
    /// The backend for a session whose handshake just succeeded.
    func makeBackend(_ info: SessionBackendInfo) -> any SessionBackend
}

/// What a backend is told about its session.
public struct SessionBackendInfo: Sendable {
    public var sessionID: UInt64
    public var clientAddress: String
    public var requestPath: String
    /// The negotiated subprotocol; nil when the client offered none.
    public var subprotocol: String?
}

/// A backend's handle on its session: sends to the client and closes. Use on the session's loop only.
public struct SessionDriver {
    let session: NIOLoopBound<WebSocketSessionHandler>

    public var eventLoop: any EventLoop { session.eventLoop }

    /// Queues `bytes` to the client as one data frame (binary, or base64 text in base64 mode).
    public func send(_ bytes: ByteBuffer) { session.value.targetRead(bytes) }

    /// Flushes what was queued.
    public func flush() { session.value.backendFlush() }

    /// False while the client's write buffer is above its high water mark.
    public var isWritable: Bool { session.value.clientIsWritable }

    /// Starts the close handshake with `code` (nil: a close frame without a code), as a target
    /// closing would.
    public func close(code: UInt16?, reason: String) { session.value.backendClose(code: code, reason: reason) }
}
