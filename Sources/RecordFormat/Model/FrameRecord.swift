import WebSocketWire

/// Bytes that a frame record refers to instead of copying them, such as a network buffer.
///
/// The writer keeps the value, and so the memory behind it, until the record's block is written,
/// and reads the bytes on its own thread: they must not change once handed over.
public protocol RecordPayload: Sendable {
    /// Number of payload bytes.
    var byteCount: Int { get }
    /// Calls `body` with the payload bytes, contiguous.
    func withPayloadBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R
}

extension Array: RecordPayload where Element == UInt8 {
    public var byteCount: Int { count }
    public func withPayloadBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { withUnsafeBytes(body) }
}

/// A frame record whose payload is referenced rather than copied (see ``RecordPayload``).
///
/// It is written exactly as a ``Record`` with a ``Frame`` body and the same fields would be.
public struct FrameRecord: Sendable {
    public var session: UInt32
    /// Microseconds since the session's start.
    public var timeMicros: UInt64
    public var direction: Direction
    public var opcode: Opcode
    /// False when more frames of the same message follow.
    public var isFinal: Bool
    /// True when the payload is filler standing in for redacted bytes (see ``Frame/redacted()``).
    public var isRedacted: Bool
    public var payload: any RecordPayload

    public init(
        session: UInt32, timeMicros: UInt64, direction: Direction, opcode: Opcode, isFinal: Bool = true,
        isRedacted: Bool = false, payload: any RecordPayload
    ) {
        self.session = session
        self.timeMicros = timeMicros
        self.direction = direction
        self.opcode = opcode
        self.isFinal = isFinal
        self.isRedacted = isRedacted
        self.payload = payload
    }

    /// The record of `frame` (its payload array is kept, not copied).
    init(session: UInt32, timeMicros: UInt64, frame: Frame) {
        self.init(
            session: session, timeMicros: timeMicros, direction: frame.direction, opcode: frame.opcode,
            isFinal: frame.isFinal, isRedacted: frame.isRedacted, payload: frame.payload)
    }

    /// Bytes the record takes in a block.
    var encodedSize: Int { RecordCodec.headerLength + payload.byteCount }
}
