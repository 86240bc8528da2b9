import WebSocketWire

/// Turns a session's data frames back into the TCP bytes they carried: payloads as they are, or
/// in a `base64` session (the subprotocol of old websockify clients) the decoded text of each
/// whole text message, once its final fragment has arrived (binary messages pass as they are).
public struct FrameBytes: Sendable {
    /// Whether text frames carry base64.
    public var base64: Bool
    private var pendingText: [[UInt8]] = [[], []]
    /// Per direction: the message being received is text (continuations inherit it).
    private var inText = [false, false]

    public init(base64: Bool) { self.base64 = base64 }

    /// For a session that starts with `open`.
    public init(_ open: SessionOpen) { self.init(base64: open.subprotocol == "base64") }

    /// The TCP bytes of a data frame (empty for a fragment whose message is not complete yet,
    /// and for control frames).
    public mutating func bytes(of frame: Frame) -> [UInt8] {
        guard !frame.opcode.isControl else { return [] }
        let side = Int(frame.direction.rawValue)
        if frame.opcode != .continuation { inText[side] = frame.opcode == .text }
        guard base64, inText[side] else { return frame.payload }
        pendingText[side] += frame.payload
        guard frame.isFinal else { return [] }
        defer { pendingText[side] = [] }
        return TextEncoding.base64Decode(pendingText[side])
    }
}
