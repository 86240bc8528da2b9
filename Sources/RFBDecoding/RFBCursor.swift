/// The pointer's shape a server sent (Cursor -239 or XCursor -240 pseudo-rectangles): `width` ×
/// `height` pixels `0xAARRGGBB`, alpha 0xFF where the bitmask shows the pixel and 0 elsewhere,
/// and the hotspot, the pixel that sits at the pointer's position.
public struct RFBCursor: Sendable, Hashable {
    public var width: Int
    public var height: Int
    public var hotspotX: Int
    public var hotspotY: Int
    /// Rows top to bottom.
    public var pixels: [UInt32]

    public init(width: Int, height: Int, hotspotX: Int, hotspotY: Int, pixels: [UInt32]) {
        self.width = width
        self.height = height
        self.hotspotX = hotspotX
        self.hotspotY = hotspotY
        self.pixels = pixels
    }
}
