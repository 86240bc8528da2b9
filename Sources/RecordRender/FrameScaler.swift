import RFBDecoding

/// Resizing screens: thumbnails for a contact sheet, and screens of another size fitted into a
/// video's frame (the size of the session's first screen).
public enum FrameScaler {
    /// `image` scaled to `width` × `height` by averaging the source pixels each target pixel covers
    /// (nearest pixel when enlarging).
    public static func scaled(_ image: RFBFramebuffer, width: Int, height: Int) -> RFBFramebuffer {
        var out = RFBFramebuffer(width: width, height: height)
        guard width > 0, height > 0, image.width > 0, image.height > 0 else { return out }
        if width == image.width, height == image.height { return image }
        let source = image.pixels
        var pixels = [UInt32](repeating: 0, count: width * height)
        // The source columns of each target column, computed once.
        let columns = (0..<width).map { x in span(x, width, image.width) }
        for y in 0..<height {
            let rows = span(y, height, image.height)
            for x in 0..<width {
                var (red, green, blue, count) = (0, 0, 0, 0)
                for row in rows {
                    let base = row * image.width
                    for column in columns[x] {
                        let pixel = source[base + column]
                        red += Int(pixel >> 16 & 0xFF)
                        green += Int(pixel >> 8 & 0xFF)
                        blue += Int(pixel & 0xFF)
                        count += 1
                    }
                }
                let half = count / 2
                pixels[y * width + x] =
                    UInt32((red + half) / count) << 16 | UInt32((green + half) / count) << 8 | UInt32((blue + half) / count)
            }
        }
        out.put(x: 0, y: 0, width: width, height: height, pixels)
        return out
    }

    /// `image` in a `width` × `height` frame: as large as fits keeping its proportions, centred on
    /// black (a screen that changed size in a video whose frame has the first screen's size).
    public static func fitted(_ image: RFBFramebuffer, width: Int, height: Int) -> RFBFramebuffer {
        if image.width == width, image.height == height { return image }
        var frame = RFBFramebuffer(width: width, height: height)
        guard image.width > 0, image.height > 0 else { return frame }
        let (w, h) = fit(image.width, image.height, into: width, height)
        let inner = scaled(image, width: w, height: h)
        frame.put(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h, inner.pixels)
        return frame
    }

    /// The largest size of `width` × `height`'s proportions inside `boxWidth` × `boxHeight` (at
    /// least 1 × 1).
    public static func fit(_ width: Int, _ height: Int, into boxWidth: Int, _ boxHeight: Int) -> (Int, Int) {
        if width * boxHeight >= height * boxWidth {
            return (boxWidth, max(1, (height * boxWidth + width / 2) / width))
        }
        return (max(1, (width * boxHeight + height / 2) / height), boxHeight)
    }

    /// The source indices target index `i` of `target` covers in `source`.
    private static func span(_ i: Int, _ target: Int, _ source: Int) -> Range<Int> {
        let start = i * source / target
        let end = max(start + 1, (i + 1) * source / target)
        return start..<min(end, source)
    }
}
