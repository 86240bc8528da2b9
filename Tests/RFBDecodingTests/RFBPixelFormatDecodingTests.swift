import RFB
import RFBDecoding
import Testing

/// Pixel formats: true colour of 8, 16 and 32 bits in both byte orders, colour maps, and
/// SetPixelFormat taking effect with the next update.
@Suite struct RFBPixelFormatDecodingTests {
    static let rgb565 = RFBPixelFormat(
        bitsPerPixel: 16, depth: 16, bigEndian: false, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31,
        redShift: 11, greenShift: 5, blueShift: 0)

    @Test(arguments: [false, true])
    func sixteenBitsInEitherByteOrder(bigEndian: Bool) {
        var format = Self.rgb565
        format.bigEndian = bigEndian
        var session = DecoderSession(width: 3, height: 1, format: format)
        // Pure red, green at 32 of 63, and blue at 1 of 31.
        let values: [UInt16] = [0xF800, 32 << 5, 1]
        let pixels = values.flatMap { bigEndian ? [UInt8($0 >> 8), UInt8($0 & 0xFF)] : [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        session.server(update(1) + rect(0, 0, 3, 1, .raw) + pixels)
        #expect(session.problems.isEmpty)
        // 32 * 255 / 63 = 129.5 rounds to 130; 255 / 31 = 8.2 rounds to 8.
        #expect(session.rows == [[0xFF0000, 130 << 8, 8]])
    }

    @Test func eightBitTrueColour() {
        // BGR233, the 8-bit true colour format noVNC and TigerVNC offer.
        let format = RFBPixelFormat(
            bitsPerPixel: 8, depth: 8, bigEndian: false, trueColour: true, redMax: 7, greenMax: 7, blueMax: 3,
            redShift: 0, greenShift: 3, blueShift: 6)
        var session = DecoderSession(width: 3, height: 1, format: format)
        session.server(update(1) + rect(0, 0, 3, 1, .raw) + [0b11_000_111, 0b00_111_000, 0b10_000_011])
        #expect(session.problems.isEmpty)
        // Red 3 of 7 is 109.3, blue 2 of 3 is 170.
        #expect(session.rows == [[0xFF00FF, 0x00FF00, 0x6D00AA]])
    }

    @Test func thirtyTwoBitsBigEndian() {
        let format = RFBPixelFormat(
            bitsPerPixel: 32, depth: 24, bigEndian: true, trueColour: true, redMax: 255, greenMax: 255, blueMax: 255,
            redShift: 0, greenShift: 8, blueShift: 16)
        var session = DecoderSession(width: 1, height: 1, format: format)
        session.server(update(1) + rect(0, 0, 1, 1, .raw) + [0x00, 0x33, 0x22, 0x11])
        #expect(session.rows == [[0x112233]])
    }

    @Test func colourMapEntriesColourLaterPixels() {
        let format = RFBPixelFormat(
            bitsPerPixel: 8, depth: 8, bigEndian: false, trueColour: false, redMax: 0, greenMax: 0, blueMax: 0,
            redShift: 0, greenShift: 0, blueShift: 0)
        var session = DecoderSession(width: 3, height: 1, format: format)
        // Entries 5 and 6; the high byte of each 16-bit channel is kept.
        session.server([1, 0] + u16(5) + u16(2) + u16(0xFFFF) + u16(0x8000) + u16(0x00FF) + u16(0x1200) + u16(0) + u16(0xAB00))
        session.server(update(1) + rect(0, 0, 3, 1, .raw) + [5, 6, 7])
        #expect(session.problems.isEmpty)
        #expect(session.rows == [[0xFF8000, 0x1200AB, 0]])
    }

    @Test func setPixelFormatTakesEffectWithTheNextUpdate() {
        var session = DecoderSession(width: 2, height: 1)
        let header = update(1) + rect(0, 0, 2, 1, .raw)
        // The update starts in the 32-bit format; the client switches to RGB565 while it is sent.
        session.server(header + px(0x0000FF))
        session.client([0, 0, 0, 0] + Self.rgb565.bytes)
        session.server(px(0x00FF00))
        #expect(session.rows == [[0x0000FF, 0x00FF00]])
        session.server(header + [0x00, 0xF8, 0x1F, 0x00])
        #expect(session.problems.isEmpty)
        #expect(session.rows == [[0xFF0000, 0x0000FF]])
    }
}
