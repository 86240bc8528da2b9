import RFB

/// The pointer: its shape from Cursor (-239) and XCursor (-240) pseudo-rectangles, its position
/// from the client's PointerEvents and the server's PointerPos (-232).
extension RFBFramebufferDecoder {
    /// The screen with the cursor drawn at the pointer (as a viewer shows it); the plain
    /// ``framebuffer`` when there is no cursor shape or no position yet.
    public var framebufferWithCursor: RFBFramebuffer? {
        guard var screen = framebuffer, let cursor, let pointer else { return framebuffer }
        screen.draw(cursor, at: pointer.x, pointer.y)
        return screen
    }

    /// The largest cursor taken: 1 Mi pixels (4 MiB), e.g. 1024 × 1024. Pointer shapes are
    /// 16–256 pixels a side; a larger one (XCursor's 2 bits a pixel would otherwise turn each
    /// recorded byte into 16 bytes held and drawn on every frame) is reported and passed over.
    public static let maximumCursorPixels = 1 << 20

    /// Reads a Cursor or XCursor rectangle's data (`reader`) into ``cursor``; an empty one hides it.
    func setCursor(_ rectangle: RFBRectangle, _ reader: inout RFBDataReader, _ converter: RFBPixelConverter?) throws {
        let width = Int(rectangle.width)
        let height = Int(rectangle.height)
        guard width > 0, height > 0 else {
            cursor = RFBCursor(width: 0, height: 0, hotspotX: 0, hotspotY: 0, pixels: [])
            return
        }
        guard width * height <= Self.maximumCursorPixels else {
            throw DecodeFailure(
                message: "a \(width)x\(height) cursor is larger than the \(Self.maximumCursorPixels) pixels a cursor "
                    + "may have (the previous shape stays)")
        }
        let rowBytes = (width + 7) / 8
        /// Whether bit (x, y) of the bitmap starting at `start` is set.
        func bit(_ start: Int, _ x: Int, _ y: Int) -> Bool {
            reader.bytes[start + y * rowBytes + x / 8] & (0x80 >> UInt8(x % 8)) != 0
        }
        var colours: [UInt32]
        if rectangle.encoding == .cursor {
            guard let converter else { throw DecodeFailure(message: "a cursor without a usable pixel format") }
            colours = []
            colours.reserveCapacity(width * height)
            for _ in 0..<width * height { colours.append(try reader.colour(converter)) }
        } else {
            let primary = try reader.tPixelRGB()
            let secondary = try reader.tPixelRGB()
            let bitmap = try reader.take(rowBytes * height)
            colours = (0..<width * height).map { i in bit(bitmap, i % width, i / width) ? primary : secondary }
        }
        let mask = try reader.take(rowBytes * height)
        for i in colours.indices where bit(mask, i % width, i / width) { colours[i] |= 0xFF00_0000 }
        cursor = RFBCursor(
            width: width, height: height, hotspotX: Int(rectangle.x), hotspotY: Int(rectangle.y), pixels: colours)
    }
}
