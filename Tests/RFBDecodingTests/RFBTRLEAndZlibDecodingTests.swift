import RFB
import RFBDecoding
import Testing

/// TRLE (RFC 6143 §7.7.5: ZRLE's tiles at 16×16 without zlib, and palette reuse) and Zlib
/// (encoding 6: Raw pixels through one zlib stream per session).
@Suite struct RFBTRLEAndZlibDecodingTests {
    static let (a, b, c): (UInt32, UInt32, UInt32) = (0x102030, 0xA0B0C0, 0x00FF7F)

    @Test func trleTilesOf16WithPalettesReusedByKinds127And129() {
        // 20x18: tiles 16x16, 4x16, 16x2, 4x2.
        var tiles: [UInt8] = [2] + cpx(Self.a) + cpx(Self.b) + Array(repeating: 0xAA, count: 32)
        tiles += [127] + Array(repeating: 0x50, count: 16)
        tiles += [129, 0x80, 9, 1, 0x81, 20]
        tiles += [128] + cpx(Self.c) + [7]
        var session = DecoderSession(width: 20, height: 18)
        session.server(update(1) + rect(0, 0, 20, 18, .trle) + tiles)
        #expect(session.problems.isEmpty)
        let rows = session.rows
        for y in 0..<16 {
            #expect(Array(rows[y][0..<16]) == (0..<16).map { $0 % 2 == 0 ? Self.b : Self.a }, "row \(y)")
            #expect(Array(rows[y][16..<20]) == [Self.a, Self.b, Self.a, Self.b], "row \(y)")
        }
        let runs = Array(repeating: Self.a, count: 10) + [Self.b] + Array(repeating: Self.b, count: 21)
        #expect(Array(rows[16][0..<16] + rows[17][0..<16]) == runs)
        #expect(Array(rows[16][16..<20] + rows[17][16..<20]) == Array(repeating: Self.c, count: 8))
    }

    @Test func trleReusingAPaletteNeverSentStopsTheDecoding() {
        // Its length cannot be known (the parser does not know the palette's size): nothing of
        // the update is drawn and the decoding stops there.
        var session = DecoderSession(width: 4, height: 4)
        session.server(update(2) + rect(0, 0, 4, 4, .trle) + [127] + [0, 0, 0, 0] + rect(0, 0, 1, 1, .raw) + px(5))
        #expect(session.problems.map(\.kind) == [.stopped])
        #expect(session.rows[0][0] == 0)
    }

    @Test func zlibRawPixelsContinueOneStream() {
        let deflater = SyncFlushDeflater()
        func zlibRect(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ pixels: [UInt32]) -> [UInt8] {
            let compressed = deflater.compress(pixels.flatMap(px))
            return rect(x, y, w, h, .zlib) + u32(compressed.count) + compressed
        }
        var session = DecoderSession(width: 3, height: 2)
        session.server(update(1) + zlibRect(0, 0, 3, 1, [1, 2, 3]))
        session.server(update(1) + zlibRect(0, 1, 3, 1, [1, 2, 3]))
        #expect(session.problems.isEmpty)
        #expect(session.rows == [[1, 2, 3], [1, 2, 3]])
        // Data that inflates to the wrong number of pixels is malformed; the stream goes on.
        session.server(update(2) + zlibRect(0, 0, 2, 1, [9, 9, 9]) + zlibRect(2, 1, 1, 1, [7]))
        #expect(session.problems.map(\.kind) == [.malformed])
        #expect(session.rows == [[1, 2, 3], [1, 2, 7]])
    }
}
