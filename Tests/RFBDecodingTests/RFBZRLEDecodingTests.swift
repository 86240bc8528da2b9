import RFB
import RFBDecoding
import Testing

/// ZRLE: every tile kind, CPIXELs, run lengths past 255, and one zlib stream across rectangles.
@Suite struct RFBZRLEDecodingTests {
    /// A ZRLE rectangle whose tile data continues `deflater`'s stream.
    private static func zrle(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ tiles: [UInt8], _ deflater: SyncFlushDeflater)
        -> [UInt8]
    {
        let compressed = deflater.compress(tiles)
        return rect(x, y, w, h, .zrle) + u32(compressed.count) + compressed
    }

    /// Three rectangles of one stream (70x5 screen), and what they draw.
    private static func session() -> (updates: [[UInt8]], expected: [[UInt32]]) {
        let deflater = SyncFlushDeflater()
        var expected = Array(repeating: Array(repeating: UInt32(0), count: 70), count: 5)
        // 1. 70x3: a solid 64x3 tile, then a raw 6x3 tile.
        let first: [UInt8] = [1] + cpx(0x112233) + [0] + (0..<18).flatMap { cpx(0x40 + UInt32($0)) }
        for y in 0..<3 {
            for x in 0..<64 { expected[y][x] = 0x112233 }
            for x in 0..<6 { expected[y][64 + x] = 0x40 + UInt32(y * 6 + x) }
        }
        // 2. 70x3 again: a 2-colour packed tile (1 bit a pixel, rows of 8 bytes), then a
        // 2-colour palette RLE tile: 10 of colour 0, one of colour 1, 7 of colour 0.
        var second: [UInt8] = [2] + cpx(0xA0A0A0) + cpx(0xB0B0B0) + Array(repeating: 0xAA, count: 24)
        second += [130] + cpx(0xC0) + cpx(0xD0) + [0x80, 9, 1, 0x80, 6]
        for y in 0..<3 {
            for x in 0..<64 { expected[y][x] = x % 2 == 0 ? 0xB0B0B0 : 0xA0A0A0 }
            for x in 0..<6 { expected[y][64 + x] = y * 6 + x == 10 ? 0xD0 : 0xC0 }
        }
        // 3. 64x5 plain RLE: 300 pixels (1 + 255 + 44) of 0xE0, then 20 of 0xF0.
        let third: [UInt8] = [128] + cpx(0xE0) + [255, 44] + cpx(0xF0) + [19]
        for i in 0..<320 { expected[i / 64][i % 64] = i < 300 ? 0xE0 : 0xF0 }
        // 4. 6x2 at (64,3): 3 colours packed 2 bits a pixel, rows padded to a byte.
        let fourth: [UInt8] = [3] + cpx(1) + cpx(2) + cpx(3) + [0x18, 0x60, 0xAA, 0xA0]
        expected[3][64...69] = [1, 2, 3, 1, 2, 3]
        expected[4][64...69] = [3, 3, 3, 3, 3, 3]
        // 5. 3x1 at (64,2), over part of rectangle 2: 5 colours packed 4 bits a pixel.
        let fifth: [UInt8] = [5] + [10, 20, 30, 40, 50].flatMap { cpx($0) } + [0x40, 0x30]
        expected[2][64...66] = [50, 10, 40]
        let updates = [
            update(1) + zrle(0, 0, 70, 3, first, deflater),
            update(1) + zrle(0, 0, 70, 3, second, deflater),
            update(3) + zrle(0, 0, 64, 5, third, deflater) + zrle(64, 3, 6, 2, fourth, deflater)
                + zrle(64, 2, 3, 1, fifth, deflater),
        ]
        return (updates, expected)
    }

    @Test func everyTileKindAcrossOneStream() {
        let (updates, expected) = Self.session()
        var session = DecoderSession(width: 70, height: 5)
        for bytes in updates { session.server(bytes) }
        #expect(session.problems.isEmpty)
        #expect(session.rows == expected)
    }

    @Test func theSameByteByByte() {
        let (updates, expected) = Self.session()
        var session = DecoderSession(width: 70, height: 5)
        for byte in updates.joined() { session.server([byte]) }
        #expect(session.problems.isEmpty)
        #expect(session.rows == expected)
    }

    @Test func cPixelsOfColoursInTheHighBytes() {
        let format = RFBPixelFormat(
            bitsPerPixel: 32, depth: 24, bigEndian: true, trueColour: true, redMax: 255, greenMax: 255, blueMax: 255,
            redShift: 24, greenShift: 16, blueShift: 8)
        var session = DecoderSession(width: 1, height: 1, format: format)
        session.server(update(1) + Self.zrle(0, 0, 1, 1, [1, 0x11, 0x22, 0x33], SyncFlushDeflater()))
        #expect(session.problems.isEmpty)
        #expect(session.rows == [[0x112233]])
    }

    @Test func dataThatInflatesFarBeyondItsRectangleIsRefused() {
        // 1x1 pixel, yet 4 MiB of zeros inside (about 4 KB compressed): refused as it inflates.
        var session = DecoderSession(width: 1, height: 1)
        session.server(update(1) + Self.zrle(0, 0, 1, 1, [UInt8](repeating: 0, count: 1 << 22), SyncFlushDeflater()))
        #expect(session.problems.map(\.kind) == [.malformed])
        #expect(session.problems.first?.detail.contains("inflates to more than") == true)
    }

    @Test func aBrokenStreamStopsLaterZRLEButNotOtherEncodings() {
        var session = DecoderSession(width: 1, height: 1)
        session.server(update(1) + rect(0, 0, 1, 1, .zrle) + u32(4) + [0xFF, 0xFF, 0xFF, 0xFF])
        session.server(update(1) + Self.zrle(0, 0, 1, 1, [1] + cpx(5), SyncFlushDeflater()))
        session.server(update(1) + rect(0, 0, 1, 1, .raw) + px(6))
        #expect(session.problems.map(\.kind) == [.malformed, .notDecoded])
        #expect(session.rows == [[6]])
    }

    @Test func anUndefinedTileKindIsMalformedAndTheStreamGoesOn() {
        var session = DecoderSession(width: 1, height: 1)
        let deflater = SyncFlushDeflater()
        session.server(update(1) + Self.zrle(0, 0, 1, 1, [17], deflater))
        session.server(update(1) + Self.zrle(0, 0, 1, 1, [1] + cpx(5), deflater))
        #expect(session.problems.map(\.kind) == [.malformed])
        #expect(session.rows == [[5]])
    }

    @Test func aRunPastItsTileIsMalformed() {
        var session = DecoderSession(width: 2, height: 1)
        session.server(update(1) + Self.zrle(0, 0, 2, 1, [128] + cpx(5) + [2], SyncFlushDeflater()))
        #expect(session.problems.map(\.kind) == [.malformed])
        #expect(session.rows == [[0, 0]])
    }
}
