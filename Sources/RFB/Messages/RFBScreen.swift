/// A SCREEN of ExtendedDesktopSize and SetDesktopSize (rfbproto, ExtendedDesktopSize).
public struct RFBScreen: Sendable, Hashable, CustomStringConvertible {
    public var id: UInt32
    public var x: UInt16
    public var y: UInt16
    public var width: UInt16
    public var height: UInt16
    public var flags: UInt32

    public init(id: UInt32, x: UInt16, y: UInt16, width: UInt16, height: UInt16, flags: UInt32) {
        self.id = id
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.flags = flags
    }

    /// `#1 0,0 1024x768`, with `flags 0x…` when any are set.
    public var description: String {
        "#\(id) \(x),\(y) \(width)x\(height)" + (flags == 0 ? "" : " flags 0x" + String(flags, radix: 16))
    }
}
