/// A message and where it lies in its sender's byte stream.
public struct RFBParsedMessage: Sendable, Hashable {
    public var direction: RFBDirection
    /// Offset of the first byte in the sender's stream (0 = the first byte that side sent).
    public var offset: UInt64
    /// Bytes on the wire, pixel data included.
    public var length: UInt64
    public var message: RFBMessage

    public init(direction: RFBDirection, offset: UInt64, length: UInt64, message: RFBMessage) {
        self.direction = direction
        self.offset = offset
        self.length = length
        self.message = message
    }
}
