import RFBDecoding

/// A 5 × 7 pixel font of the characters time labels need (`0`–`9`, `:`, `.`), drawn at any whole
/// scale: the contact sheet labels its thumbnails without a font library.
public enum DigitFont {
    /// Each glyph's seven rows, the five low bits of each (bit 4 the leftmost pixel).
    static let glyphs: [Character: [UInt8]] = [
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ":": [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        ".": [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
    ]
    static let glyphWidth = 5
    static let glyphHeight = 7

    /// The width of `text` drawn at `scale` (one blank column between characters).
    public static func width(of text: String, scale: Int) -> Int {
        max(0, text.count * (glyphWidth + 1) - 1) * scale
    }

    /// Draws `text` with its top left at (x, y); characters without a glyph are left blank.
    public static func draw(_ text: String, at x: Int, _ y: Int, scale: Int, colour: UInt32, on image: inout RFBFramebuffer) {
        var left = x
        for character in text {
            if let rows = glyphs[character] {
                for (row, bits) in rows.enumerated() {
                    for column in 0..<glyphWidth where bits & (0x10 >> UInt8(column)) != 0 {
                        let px = left + column * scale
                        let py = y + row * scale
                        guard image.contains(x: px, y: py, width: scale, height: scale) else { continue }
                        image.put(x: px, y: py, width: scale, height: scale, Array(repeating: colour, count: scale * scale))
                    }
                }
            }
            left += (glyphWidth + 1) * scale
        }
    }
}
