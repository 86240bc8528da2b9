import RFB
import RFBDecoding
import Testing

/// Hextile: tiles at the right and bottom edges, the background and foreground carried from tile
/// to tile, raw tiles, coloured subrectangles and subrectangles outside their tile.
@Suite struct RFBHextileDecodingTests {
    private static let background: UInt8 = 2
    private static let foreground: UInt8 = 4
    private static let anySubrects: UInt8 = 8
    private static let coloured: UInt8 = 16

    @Test func coloursCarryOverBetweenTiles() {
        // 20x18: tiles of 16x16, 4x16, 16x2 and 4x2.
        var session = DecoderSession(width: 20, height: 18)
        var data: [UInt8] = []
        // Tile 1: background 0x10, foreground 0x20, single pixels in two opposite corners.
        data += [Self.background | Self.foreground | Self.anySubrects] + px(0x10) + px(0x20) + [2, 0x00, 0x00, 0xFF, 0x00]
        // Tile 2: nothing sent, so all background 0x10.
        data += [0]
        // Tile 3: subrectangles in the carried foreground: 3x1 at (2,1).
        data += [Self.anySubrects, 1, 0x21, 0x20]
        // Tile 4: raw.
        data += [1] + (0..<8).flatMap { px(0x30 + UInt32($0)) }
        session.server(update(1) + rect(0, 0, 20, 18, .hextile) + data)
        #expect(session.problems.isEmpty)

        var expected = Array(repeating: Array(repeating: UInt32(0x10), count: 20), count: 18)
        expected[0][0] = 0x20
        expected[15][15] = 0x20
        for x in 2...4 { expected[17][x] = 0x20 }
        for i in 0..<8 { expected[16 + i / 4][16 + i % 4] = 0x30 + UInt32(i) }
        #expect(session.rows == expected)
    }

    @Test func colouredSubrectanglesCoverWholeTilesEdgeToEdge() {
        var session = DecoderSession(width: 16, height: 2)
        // A 16x2 tile: background 1; a 1x2 column at x 1 in 0x99 and a 16x1 row at y 1 in 0x77.
        let data = [Self.background | Self.anySubrects | Self.coloured] + px(1) + [2] + px(0x99) + [0x10, 0x01] + px(0x77)
            + [0x01, 0xF0]
        session.server(update(1) + rect(0, 0, 16, 2, .hextile) + data)
        #expect(session.problems.isEmpty)
        var expected = Array(repeating: Array(repeating: UInt32(1), count: 16), count: 2)
        expected[0][1] = 0x99
        expected[1] = Array(repeating: 0x77, count: 16)
        #expect(session.rows == expected)
    }

    @Test func aSubrectangleOutsideItsTileIsMalformed() {
        var session = DecoderSession(width: 4, height: 2)
        // 2 wide at x 3 of a 4-wide tile.
        session.server(update(1) + rect(0, 0, 4, 2, .hextile) + [Self.background | Self.anySubrects] + px(1) + [1, 0x30, 0x10])
        #expect(session.problems.map(\.kind) == [.malformed])
        #expect(session.rows == [[0, 0, 0, 0], [0, 0, 0, 0]])
    }
}
