import NIOCore
import RecordFormat
import WebSocketWire

/// Observes one session: its opening, every frame both ways, and its end (recording, `--traffic`).
///
/// All calls happen on the session's event loop, in order, and must be cheap: hand work to
/// something asynchronous rather than doing I/O here. Frames sent by the proxy itself to the
/// client (pongs, heartbeat pings, close frames) are reported as ``Direction/targetToClient``.
public protocol SessionTap: AnyObject {
    /// The session's target connection is up and relaying starts.
    func opened(_ open: SessionOpen)
    /// A frame crossed the proxy. `payload` is unmasked; don't keep it beyond the call without copying
    /// if you need it to stay unchanged (ByteBuffer is copy-on-write, so holding it is safe).
    func frame(_ direction: Direction, opcode: Opcode, isFinal: Bool, payload: ByteBuffer)
    /// The session ended; `close` has the closer, the close code and the totals.
    func closed(_ close: SessionClose)
}

/// What a tap factory knows when a session starts.
public struct SessionContext: Sendable {
    /// Session number, counted from 1 since the server started.
    public var sessionID: UInt64
    /// The loop every call to the tap happens on.
    public var eventLoop: any EventLoop
}

/// Makes a tap for each new session.
public typealias SessionTapFactory = @Sendable (SessionContext) -> any SessionTap
