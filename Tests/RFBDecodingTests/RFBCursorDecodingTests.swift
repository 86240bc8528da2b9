import RFB
import RFBDecoding
import Testing

/// Cursor (-239) and XCursor (-240) shapes with their bitmasks, the pointer from PointerEvents and
/// PointerPos (-232), and the screen with the cursor drawn.
@Suite struct RFBCursorDecodingTests {
    static let (red, green, blue): (UInt32, UInt32, UInt32) = (0xFF0000, 0x00FF00, 0x0000FF)

    /// A 3x2 Cursor with its hotspot at (1,0): the mask shows (0,0), (1,0) and (2,1).
    static func cursorRectangle() -> [UInt8] {
        rect(1, 0, 3, 2, .cursor) + [red, green, blue, blue, red, green].flatMap(px) + [0b1100_0000, 0b0010_0000]
    }

    @Test func aCursorIsDrawnByItsMaskWithItsHotspotAtThePointer() throws {
        var session = DecoderSession(width: 5, height: 4)
        session.server(update(1) + Self.cursorRectangle())
        #expect(session.decoder.framebufferWithCursor == session.decoder.framebuffer, "no pointer yet")
        session.client([5, 0] + u16(2) + u16(1))
        #expect(session.problems.isEmpty)
        let cursor = try #require(session.decoder.cursor)
        #expect(cursor.pixels == [0xFFFF_0000, 0xFF00_FF00, 0x0000_00FF, 0x0000_00FF, 0x00FF_0000, 0xFF00_FF00])
        #expect(session.decoder.pointer == RFBPointerPosition(x: 2, y: 1))
        let drawn = try #require(session.decoder.framebufferWithCursor)
        var expected = [[UInt32]](repeating: [0, 0, 0, 0, 0], count: 4)
        expected[1][1] = Self.red
        expected[1][2] = Self.green
        expected[2][3] = Self.green
        #expect((0..<4).map { y in (0..<5).map { x in drawn[x, y] } } == expected)
        #expect(session.rows == [[UInt32]](repeating: [0, 0, 0, 0, 0], count: 4), "the framebuffer itself is untouched")

        // At the bottom right corner only what lies inside is drawn.
        session.client([5, 0] + u16(4) + u16(3))
        let corner = try #require(session.decoder.framebufferWithCursor)
        #expect(corner[3, 3] == Self.red && corner[4, 3] == Self.green)
    }

    @Test func anXCursorHasTwoColoursAndPointerPosMovesIt() throws {
        var session = DecoderSession(width: 3, height: 3)
        let xCursor = rect(0, 0, 2, 2, .xCursor) + [0xFF, 0, 0] + [0, 0, 0xFF] + [0b1000_0000, 0b0100_0000]
            + [0b1100_0000, 0b0100_0000]
        session.server(update(2) + xCursor + rect(1, 1, 0, 0, .pointerPosition))
        #expect(session.problems.isEmpty)
        #expect(session.decoder.pointer == RFBPointerPosition(x: 1, y: 1))
        let drawn = try #require(session.decoder.framebufferWithCursor)
        #expect(drawn.pixels == [0, 0, 0, 0, Self.red, Self.blue, 0, 0, Self.red])
        // An empty cursor hides it.
        session.server(update(1) + rect(0, 0, 0, 0, .xCursor))
        #expect(session.decoder.framebufferWithCursor?.pixels == [UInt32](repeating: 0, count: 9))
    }

    /// An XCursor of `width`x`height`, every pixel shown in the primary colour (red).
    static func xCursor(_ width: Int, _ height: Int) -> [UInt8] {
        let bitmap = [UInt8](repeating: 0xFF, count: (width + 7) / 8 * height)
        return rect(0, 0, width, height, .xCursor) + [0xFF, 0, 0] + [0, 0, 0xFF] + bitmap + bitmap
    }

    @Test func aCursorLargerThanTheBoundIsReportedAndThePreviousShapeStays() throws {
        var session = DecoderSession(width: 4, height: 4)
        session.server(update(1) + Self.cursorRectangle())
        let previous = try #require(session.decoder.cursor)
        // 2048 x 1024 pixels from 512 KiB of XCursor data (4 bytes held a pixel: 8 MiB).
        session.server(update(2) + Self.xCursor(2048, 1024) + rect(0, 0, 1, 1, .raw) + px(Self.green))
        #expect(session.problems.count == 1)
        #expect(session.problems.first?.detail.contains("2048x1024 cursor is larger") == true)
        let kept = session.decoder.cursor == previous  // (not printed whole when it fails: 2 Mi pixels)
        #expect(kept, "the previous cursor stays, not \(session.decoder.cursor.map { "\($0.width)x\($0.height)" } ?? "none")")
        #expect(session.rows[0][0] == Self.green, "the rectangle after it is drawn")
        // The bound itself is taken.
        session.server(update(1) + Self.xCursor(1024, 1024))
        #expect(session.problems.count == 1)
        #expect(session.decoder.cursor?.width == 1024)
        #expect(RFBFramebufferDecoder.maximumCursorPixels == 1024 * 1024)
    }

    @Test func aSnapshotKeepsTheCursorAndThePointer() throws {
        var session = DecoderSession(width: 5, height: 4)
        session.server(update(1) + Self.cursorRectangle())
        session.client([5, 0] + u16(2) + u16(1))
        let snapshot = try #require(session.decoder.snapshot())
        let resumed = try RFBFramebufferDecoder(resumingFrom: RFBDecoderSnapshot(serialized: snapshot.serialized))
        #expect(resumed.cursor == session.decoder.cursor)
        #expect(resumed.pointer == session.decoder.pointer)
        #expect(resumed.framebufferWithCursor == session.decoder.framebufferWithCursor)
    }
}
