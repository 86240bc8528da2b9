import WebSocketWire

/// One entry of a recording: a session opening or closing, a WebSocket frame, or a marker.
///
/// Times are microseconds since the session started (monotonic clock). Records of session 0
/// (file-level markers) carry wall-clock microseconds since the Unix epoch instead.
public struct Record: Sendable, Equatable {
    /// Session number, counted from 1 per file; 0 for file-level markers.
    public var session: UInt32
    /// Microseconds since the session's start (or since the Unix epoch for session 0).
    public var timeMicros: UInt64
    /// What happened.
    public var body: Body

    public enum Body: Sendable, Equatable {
        case open(SessionOpen)
        case close(SessionClose)
        case frame(Frame)
        case marker(String)
    }

    public init(session: UInt32, timeMicros: UInt64, body: Body) {
        self.session = session
        self.timeMicros = timeMicros
        self.body = body
    }
}

/// Which way a frame travelled through the proxy.
public enum Direction: UInt8, Sendable, CaseIterable {
    /// From the WebSocket client (browser) towards the TCP target.
    case clientToTarget = 0
    /// From the TCP target towards the WebSocket client.
    case targetToClient = 1

    /// The short name used in dumps and JSON: `"client"` or `"target"` (the sender).
    public var senderName: String { self == .clientToTarget ? "client" : "target" }
}

/// A WebSocket frame (or message) as it crossed the proxy.
public struct Frame: Sendable, Equatable {
    public var direction: Direction
    public var opcode: Opcode
    /// False when more frames of the same message follow (RFC 6455 FIN bit clear).
    public var isFinal: Bool
    /// True when the payload was replaced by a same-length filler (see ``Frame/redacted()``).
    public var isRedacted: Bool
    /// The payload exactly as sent, after unmasking; never escaped.
    public var payload: [UInt8]

    public init(
        direction: Direction, opcode: Opcode, payload: [UInt8], isFinal: Bool = true, isRedacted: Bool = false
    ) {
        self.direction = direction
        self.opcode = opcode
        self.payload = payload
        self.isFinal = isFinal
        self.isRedacted = isRedacted
    }

    /// The byte every redacted payload byte is replaced with.
    public static let redactionFiller: UInt8 = 0x00

    /// This frame with its payload replaced by filler of the same length and flagged as redacted.
    public func redacted() -> Frame {
        var copy = self
        copy.payload = [UInt8](repeating: Frame.redactionFiller, count: payload.count)
        copy.isRedacted = true
        return copy
    }
}

/// Where a session's TCP side went.
public enum SessionTarget: Sendable, Equatable {
    /// `host:port` (IPv6 literals in brackets).
    case hostPort(String)
    /// A unix domain socket path.
    case unixSocket(String)
    /// A token name that token routing resolved.
    case token(String)
    /// Not known (e.g. imported from a format without metadata).
    case unknown

    var kindByte: UInt8 {
        switch self {
        case .hostPort: 1
        case .unixSocket: 2
        case .token: 3
        case .unknown: 0
        }
    }

    /// Human-readable form, e.g. `127.0.0.1:5900`, `unix:/run/vnc.sock`, `token:abc`.
    public var displayString: String {
        switch self {
        case .hostPort(let s): s
        case .unixSocket(let p): "unix:\(p)"
        case .token(let t): "token:\(t)"
        case .unknown: "unknown"
        }
    }
}

/// The metadata of a session, recorded when it opens.
public struct SessionOpen: Sendable, Equatable {
    /// Wall-clock start, microseconds since the Unix epoch (UTC).
    public var startWallMicros: Int64
    /// Client address, e.g. `127.0.0.1:51234`.
    public var clientAddress: String
    /// The proxy's listening address, e.g. `0.0.0.0:6080`.
    public var listenAddress: String
    public var target: SessionTarget
    /// HTTP request path of the upgrade, with query.
    public var requestPath: String
    /// Negotiated WebSocket subprotocol; nil when none was negotiated.
    public var subprotocol: String?
    /// True when the client connected over TLS (`wss://`).
    public var tls: Bool
    /// Where this session was copied from (`FILE#N`), set by tools that cut and join recordings.
    public var origin: String?
    /// The load balancer the client came through (the proxy's TCP peer, e.g. `10.0.0.2:41234`) when
    /// ``clientAddress`` is the client the balancer named (PROXY protocol or a trusted forwarded
    /// header); nil when the client connected directly. Since format 1.3.
    public var viaAddress: String?
    /// The session's stable identity (a UUID and the recording instance), the same in every file a
    /// rotated recording spreads the session over; nil in files written before format 1.4.
    public var identity: SessionIdentity?

    public init(
        startWallMicros: Int64, clientAddress: String = "", listenAddress: String = "",
        target: SessionTarget = .unknown, requestPath: String = "", subprotocol: String? = nil, tls: Bool = false,
        origin: String? = nil, viaAddress: String? = nil, identity: SessionIdentity? = nil
    ) {
        self.startWallMicros = startWallMicros
        self.clientAddress = clientAddress
        self.listenAddress = listenAddress
        self.target = target
        self.requestPath = requestPath
        self.subprotocol = subprotocol
        self.tls = tls
        self.origin = origin
        self.viaAddress = viaAddress
        self.identity = identity
    }
}

/// Who ended a session.
public enum Closer: UInt8, Sendable, CaseIterable {
    case unknown = 0
    case client = 1
    case target = 2
    case proxy = 3

    public var name: String {
        switch self {
        case .unknown: "unknown"
        case .client: "client"
        case .target: "target"
        case .proxy: "proxy"
        }
    }
}

/// Totals for one direction of a session.
public struct DirectionTotals: Sendable, Equatable {
    public var frames: UInt64
    public var bytes: UInt64
    public init(frames: UInt64 = 0, bytes: UInt64 = 0) {
        self.frames = frames
        self.bytes = bytes
    }
}

/// How a session ended, recorded when it closes.
public struct SessionClose: Sendable, Equatable {
    public var closedBy: Closer
    /// The WebSocket close code (RFC 6455 §7.4), nil when none was sent or received.
    public var code: UInt16?
    public var reason: String
    public var clientToTarget: DirectionTotals
    public var targetToClient: DirectionTotals

    public init(
        closedBy: Closer, code: UInt16? = nil, reason: String = "",
        clientToTarget: DirectionTotals = .init(), targetToClient: DirectionTotals = .init()
    ) {
        self.closedBy = closedBy
        self.code = code
        self.reason = reason
        self.clientToTarget = clientToTarget
        self.targetToClient = targetToClient
    }
}
