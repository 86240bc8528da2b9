/// A decoded screen: `width` × `height` pixels, row by row from the top left, each a `UInt32`
/// `0x00RRGGBB` (8 bits per channel, whatever the session's pixel format was).
public struct RFBFramebuffer: Sendable, Hashable {
    public private(set) var width: Int
    public private(set) var height: Int
    /// `width * height` pixels, rows top to bottom.
    public private(set) var pixels: [UInt32]

    /// A black framebuffer.
    public init(width: Int, height: Int) {
        self.width = max(width, 0)
        self.height = max(height, 0)
        pixels = Array(repeating: 0, count: self.width * self.height)
    }

    /// A framebuffer of these pixels; nil unless there are `width * height` of them.
    init?(width: Int, height: Int, pixels: [UInt32]) {
        guard width >= 0, height >= 0, pixels.count == width * height else { return nil }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// RGB byte triples as `0x00RRGGBB` pixels.
    static func pixels(rgb: [UInt8]) -> [UInt32] {
        var pixels = [UInt32](repeating: 0, count: rgb.count / 3)
        rgb.withUnsafeBufferPointer { bytes in
            for i in pixels.indices {
                let red = UInt32(bytes[3 * i]) << 16
                let green = UInt32(bytes[3 * i + 1]) << 8
                pixels[i] = red | green | UInt32(bytes[3 * i + 2])
            }
        }
        return pixels
    }

    /// The pixel at (x, y), `0x00RRGGBB`.
    public subscript(x: Int, y: Int) -> UInt32 {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x),\(y)) outside \(width)x\(height)")
        return pixels[y * width + x]
    }

    /// Changes the size (DesktopSize, ExtendedDesktopSize): what both sizes cover is kept, the
    /// new area is black.
    public mutating func resize(width newWidth: Int, height newHeight: Int) {
        let newWidth = max(newWidth, 0)
        let newHeight = max(newHeight, 0)
        guard newWidth != width || newHeight != height else { return }
        var resized = [UInt32](repeating: 0, count: newWidth * newHeight)
        let keepWidth = min(width, newWidth)
        for y in 0..<min(height, newHeight) where keepWidth > 0 {
            resized[y * newWidth..<y * newWidth + keepWidth] = pixels[y * width..<y * width + keepWidth]
        }
        width = newWidth
        height = newHeight
        pixels = resized
    }

    /// Whether the rectangle lies inside the framebuffer.
    public func contains(x: Int, y: Int, width w: Int, height h: Int) -> Bool {
        x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= width && y + h <= height
    }

    /// Puts a rectangle of `w` × `h` pixels (rows top to bottom) at (x, y); the part outside the
    /// framebuffer is dropped.
    public mutating func put(x: Int, y: Int, width w: Int, height h: Int, _ source: [UInt32]) {
        precondition(source.count == w * h, "\(source.count) pixels for a \(w)x\(h) rectangle")
        let x0 = max(x, 0)
        let x1 = min(x + w, width)
        guard x0 < x1 else { return }
        for row in max(y, 0)..<max(min(y + h, height), max(y, 0)) {
            let from = (row - y) * w + (x0 - x)
            pixels[row * width + x0..<row * width + x1] = source[from..<from + (x1 - x0)]
        }
    }

    /// Copies the `w` × `h` pixels at (sourceX, sourceY) to (x, y) (CopyRect); the regions may
    /// overlap. The caller checks that both lie inside.
    public mutating func copy(fromX sourceX: Int, fromY sourceY: Int, toX x: Int, toY y: Int, width w: Int, height h: Int) {
        precondition(
            contains(x: sourceX, y: sourceY, width: w, height: h) && contains(x: x, y: y, width: w, height: h),
            "copy outside the framebuffer")
        guard w > 0, h > 0 else { return }
        var block = [UInt32]()
        block.reserveCapacity(w * h)
        for row in sourceY..<sourceY + h {
            block += pixels[row * width + sourceX..<row * width + sourceX + w]
        }
        put(x: x, y: y, width: w, height: h, block)
    }

    /// Draws `cursor` with its hotspot at (x, y): the pixels its bitmask shows (alpha 0xFF)
    /// replace the screen's; the part outside the framebuffer is dropped.
    public mutating func draw(_ cursor: RFBCursor, at x: Int, _ y: Int) {
        guard cursor.width >= 0, cursor.height >= 0, cursor.pixels.count == cursor.width * cursor.height else { return }
        let left = x - cursor.hotspotX
        let top = y - cursor.hotspotY
        for row in 0..<cursor.height where top + row >= 0 && top + row < height {
            for column in 0..<cursor.width where left + column >= 0 && left + column < width {
                let pixel = cursor.pixels[row * cursor.width + column]
                guard pixel >> 24 != 0 else { continue }
                pixels[(top + row) * width + left + column] = pixel & 0xFF_FFFF
            }
        }
    }

    /// The framebuffer as a binary PPM (P6) image: the simplest lossless format image tools read.
    public var ppm: [UInt8] {
        var out = Array("P6\n\(width) \(height)\n255\n".utf8)
        out.reserveCapacity(out.count + pixels.count * 3)
        for pixel in pixels {
            out.append(UInt8(truncatingIfNeeded: pixel >> 16))
            out.append(UInt8(truncatingIfNeeded: pixel >> 8))
            out.append(UInt8(truncatingIfNeeded: pixel))
        }
        return out
    }
}
