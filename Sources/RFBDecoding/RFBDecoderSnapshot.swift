import RFB

/// A keyframe: all an ``RFBFramebufferDecoder`` needs to go on from a point between messages
/// without the bytes before it. Take one with ``RFBFramebufferDecoder/snapshot()``, make a
/// decoder from it with ``RFBFramebufferDecoder/init(resumingFrom:)``, and feed that decoder the
/// bytes each side sent after ``clientOffset`` and ``serverOffset``: it draws exactly what the
/// decoder that took the snapshot draws from the same bytes.
///
/// ``serialized`` turns it into bytes for a keyframe cache file and ``init(serialized:)`` back
/// (docs/rfb-decoder.md, "Keyframes").
public struct RFBDecoderSnapshot: Sendable, Hashable {
    /// The session parser's point: the session state and each side's byte count.
    public let parser: RFBSessionParser.ResumePoint
    /// The screen; nil before ServerInit.
    public let framebuffer: RFBFramebuffer?
    /// The pixel format pixels are read in, nil if none is usable, and its colour map (empty
    /// for true colour).
    public let pixelFormat: RFBPixelFormat?
    public let colourMap: [UInt32]
    /// FramebufferUpdates applied.
    public let updateCount: Int
    /// Whether the server's stream is no longer followed.
    public let isStopped: Bool
    /// The session's ZRLE zlib stream.
    public let zrle: RFBZlibStreamState
    /// Tight's four zlib streams, 0 to 3.
    public let tight: [RFBZlibStreamState]
    /// The Zlib encoding's stream.
    public let zlib: RFBZlibStreamState
    /// The pointer's shape and position.
    public let cursor: RFBCursor?
    public let pointer: RFBPointerPosition?

    /// Bytes of the client's and the server's streams before the point.
    public var clientOffset: UInt64 { parser.clientOffset }
    public var serverOffset: UInt64 { parser.serverOffset }

    /// The largest stream offset a serialized snapshot may give (2^63 - 1): more than any session
    /// sends, with room to count every byte fed after it without overflowing.
    public static let maximumOffset = UInt64(Int64.max)

    init(
        parser: RFBSessionParser.ResumePoint, framebuffer: RFBFramebuffer?, pixelFormat: RFBPixelFormat?,
        colourMap: [UInt32], updateCount: Int, isStopped: Bool, zrle: RFBZlibStreamState,
        tight: [RFBZlibStreamState], zlib: RFBZlibStreamState, cursor: RFBCursor?, pointer: RFBPointerPosition?
    ) {
        self.parser = parser
        self.framebuffer = framebuffer
        self.pixelFormat = pixelFormat
        self.colourMap = colourMap
        self.updateCount = updateCount
        self.isStopped = isStopped
        self.zrle = zrle
        self.tight = tight
        self.zlib = zlib
        self.cursor = cursor
        self.pointer = pointer
    }
}
