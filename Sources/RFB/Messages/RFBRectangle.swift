/// One rectangle of a FramebufferUpdate (RFC 6143 §7.6.1): its header, where it lies in the
/// server's stream and how many encoded bytes follow the header. Pixel data is not decoded;
/// pseudo-rectangles keep what they say (a name, screens, a CopyRect source, …).
public struct RFBRectangle: Sendable, Hashable {
    public var x: UInt16
    public var y: UInt16
    public var width: UInt16
    public var height: UInt16
    public var encoding: RFBEncoding
    /// Offset of the 12-byte rectangle header in the server's stream.
    public var offset: UInt64
    /// Encoded bytes after the header.
    public var dataLength: UInt64
    public var detail: Detail

    /// What a rectangle says beyond its geometry.
    public enum Detail: Sendable, Hashable {
        case none
        /// CopyRect: where the pixels come from.
        case copyRect(sourceX: UInt16, sourceY: UInt16)
        /// DesktopName: the new name (UTF-8, at most ``RFBSessionParser/stringLimit`` bytes kept).
        case desktopName(String)
        /// ExtendedDesktopSize: the screens (x is the reason and y the status of the change).
        case screens([RFBScreen])
        /// QEMU LED state: bit 0 Scroll Lock, 1 Num Lock, 2 Caps Lock.
        case ledState(UInt8)
        /// Tight/TightPNG: the compression method (`fill`, `jpeg`, `png`, `basic copy`,
        /// `basic palette 2`, `basic gradient`).
        case tight(String)
        /// H.264: the flags word (bit 0 reset context, bit 1 reset all contexts).
        case h264(flags: UInt32)
        /// VMware cursor: its type (0 classic AND/XOR masks, 1 alpha).
        case vmwareCursor(type: UInt8)
    }

    public init(
        x: UInt16, y: UInt16, width: UInt16, height: UInt16, encoding: RFBEncoding, offset: UInt64 = 0,
        dataLength: UInt64 = 0, detail: Detail = .none
    ) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.encoding = encoding
        self.offset = offset
        self.dataLength = dataLength
        self.detail = detail
    }
}

/// A FramebufferUpdate (RFC 6143 §7.6.1) with every rectangle's header.
public struct RFBFramebufferUpdate: Sendable, Hashable {
    /// The rectangle count in the message header (65535 when a LastRect ends the update).
    public var declaredCount: UInt16
    /// The rectangles in order, a closing LastRect included.
    public var rectangles: [RFBRectangle]

    public init(declaredCount: UInt16, rectangles: [RFBRectangle]) {
        self.declaredCount = declaredCount
        self.rectangles = rectangles
    }

    /// Whether a LastRect pseudo-rectangle ended the update before the declared count.
    public var endedByLastRect: Bool { rectangles.last?.encoding == .lastRect }
}
