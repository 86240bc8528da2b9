import RFB
import RFBDecoding
import Testing

/// Raw, CopyRect, RRE and CoRRE rectangles, resizing, LastRect, and what is not decoded.
@Suite struct RFBFramebufferDecoderTests {
    @Test func serverInitGivesABlackScreenOfItsSize() throws {
        let session = DecoderSession(width: 4, height: 3)
        let screen = try #require(session.decoder.framebuffer)
        #expect(screen.width == 4 && screen.height == 3)
        #expect(screen.pixels == Array(repeating: 0, count: 12))
    }

    @Test func rawPutsPixelsRowByRow() {
        var session = DecoderSession(width: 3, height: 3)
        session.server(update(1) + rect(1, 1, 2, 2, .raw) + px(0x010203) + px(0x040506) + px(0x070809) + px(0x0A0B0C))
        #expect(session.problems.isEmpty)
        #expect(session.rows == [[0, 0, 0], [0, 0x010203, 0x040506], [0, 0x070809, 0x0A0B0C]])
        #expect(session.decoder.updateCount == 1)
    }

    @Test func copyRectCopiesOverlappingRegions() {
        var session = DecoderSession(width: 4, height: 1)
        session.server(update(1) + rect(0, 0, 4, 1, .raw) + px(1) + px(2) + px(3) + px(4))
        // Three pixels one to the right: the source overlaps the destination.
        session.server(update(1) + rect(1, 0, 3, 1, .copyRect) + u16(0) + u16(0))
        #expect(session.problems.isEmpty)
        #expect(session.rows == [[1, 1, 2, 3]])
    }

    @Test func copyRectFromOutsideIsReportedAndChangesNothing() {
        var session = DecoderSession(width: 4, height: 1)
        session.server(update(1) + rect(0, 0, 4, 1, .raw) + px(1) + px(2) + px(3) + px(4))
        session.server(update(1) + rect(0, 0, 2, 1, .copyRect) + u16(3) + u16(0), time: 2.5)
        #expect(session.rows == [[1, 2, 3, 4]])
        #expect(session.problems.map(\.kind) == [.malformed])
        #expect(session.problems.first?.time == 2.5)
    }

    @Test func rreFillsSubrectanglesUpToTheEdges() {
        var session = DecoderSession(width: 4, height: 3)
        let subrects =
            px(0xAA) + u16(3) + u16(2) + u16(1) + u16(1)  // the bottom right corner
            + px(0xBB) + u16(0) + u16(0) + u16(4) + u16(1)  // the whole top row
            + px(0xCC) + u16(1) + u16(1) + u16(0) + u16(0)  // empty: draws nothing
        session.server(update(1) + rect(0, 0, 4, 3, .rre) + u32(3) + px(0x11) + subrects)
        #expect(session.problems.isEmpty)
        #expect(session.rows == [[0xBB, 0xBB, 0xBB, 0xBB], [0x11, 0x11, 0x11, 0x11], [0x11, 0x11, 0x11, 0xAA]])
    }

    @Test func rreSubrectangleOutsideItsRectangleIsMalformed() {
        var session = DecoderSession(width: 4, height: 2)
        session.server(update(1) + rect(0, 0, 4, 2, .raw) + Array(repeating: px(0x22), count: 8).joined())
        let rreOffset = UInt64(session.serverOffset + 4)
        // 2 wide at x 3 in a 4-wide rectangle.
        session.server(update(1) + rect(0, 0, 4, 2, .rre) + u32(1) + px(0x11) + px(0xAA) + u16(3) + u16(0) + u16(2) + u16(1))
        #expect(session.problems.map(\.kind) == [.malformed])
        #expect(session.rows == [[0x22, 0x22, 0x22, 0x22], [0x22, 0x22, 0x22, 0x22]])
        #expect(session.problems.first?.offset == rreOffset)
    }

    @Test func coRREHasOneByteGeometry() {
        var session = DecoderSession(width: 3, height: 2)
        session.server(update(1) + rect(0, 0, 3, 2, .coRRE) + u32(1) + px(0x11) + px(0xAA) + [1, 0, 2, 2])
        #expect(session.problems.isEmpty)
        #expect(session.rows == [[0x11, 0xAA, 0xAA], [0x11, 0xAA, 0xAA]])
    }

    @Test func desktopSizeResizesKeepingWhatBothCover() {
        var session = DecoderSession(width: 2, height: 1)
        session.server(update(1) + rect(0, 0, 2, 1, .raw) + px(5) + px(6))
        session.server(update(1) + rect(0, 0, 3, 2, .desktopSize))
        #expect(session.rows == [[5, 6, 0], [0, 0, 0]])
        session.server(update(1) + rect(0, 0, 1, 1, .desktopSize))
        #expect(session.rows == [[5]])
    }

    @Test func extendedDesktopSizeResizesOnlyOnSuccess() {
        var session = DecoderSession(width: 2, height: 1)
        let screen = u32(0) + u16(0) + u16(0) + u16(4) + u16(2) + u32(0)
        // Reason 1 (the client asked), status 3 (invalid layout): no change.
        session.server(update(1) + rect(1, 3, 4, 2, .extendedDesktopSize) + [1, 0, 0, 0] + screen)
        #expect(session.screen.width == 2)
        session.server(update(1) + rect(1, 0, 4, 2, .extendedDesktopSize) + [1, 0, 0, 0] + screen)
        #expect(session.problems.isEmpty)
        #expect(session.screen.width == 4 && session.screen.height == 2)
    }

    @Test func lastRectEndsAnUpdateOfUnknownCount() {
        var session = DecoderSession(width: 1, height: 1)
        session.server(update(0xFFFF) + rect(0, 0, 1, 1, .raw) + px(7) + rect(0, 0, 0, 0, .lastRect))
        session.server(update(1) + rect(0, 0, 1, 1, .copyRect) + u16(0) + u16(0))
        #expect(session.problems.isEmpty)
        #expect(session.rows == [[7]])
        #expect(session.decoder.updateCount == 2)
    }

    @Test func anH264RectangleIsReportedAndTheRestOfTheUpdateDrawn() throws {
        var session = DecoderSession(width: 2, height: 1)
        // H.264: a U32 length, U32 flags, that many bytes; then a Raw pixel.
        let h264Offset = UInt64(session.serverOffset + 4)
        session.server(
            update(2) + rect(0, 0, 1, 1, .h264) + u32(3) + u32(0) + [1, 2, 3] + rect(1, 0, 1, 1, .raw) + px(9),
            time: 1.0)
        #expect(session.rows == [[0, 9]])
        #expect(session.problems.count == 1)
        let problem = try #require(session.problems.first)
        #expect(problem.kind == .notDecoded)
        #expect(problem.offset == h264Offset)
        #expect(problem.rectangle?.encoding == .h264)
        #expect(problem.time == 1.0)
        #expect(problem.description.hasPrefix("not decoded: H.264 rectangle 1x1 at (0,0): "))
    }

    @Test func anEncodingOfUnknownLengthStopsTheDecodingThere() {
        var session = DecoderSession(width: 1, height: 1)
        session.server(update(1) + rect(0, 0, 1, 1, .raw) + px(7))
        let stopOffset = UInt64(session.serverOffset)
        session.server(update(1) + rect(0, 0, 1, 1, RFBEncoding(1234)) + [1, 2, 3])
        session.server(update(1) + rect(0, 0, 1, 1, .raw) + px(8))
        #expect(session.rows == [[7]])
        #expect(session.problems.map(\.kind) == [.stopped])
        #expect(session.problems.first?.offset == stopOffset)
        #expect(session.decoder.isStopped)
    }

    @Test func aStreamCutInsideAnUpdateIsReportedByFinish() {
        var session = DecoderSession(width: 2, height: 1)
        session.server(update(1) + rect(0, 0, 2, 1, .raw) + px(7))
        #expect(session.decoder.finish().map(\.kind) == [.stopped])
    }

    @Test func aScreenTooLargeToDrawStopsTheDecoding() {
        var session = DecoderSession(width: 2, height: 1)
        session.server(update(2) + rect(0, 0, 10000, 10000, .desktopSize) + rect(0, 0, 1, 1, .raw) + px(7))
        #expect(session.problems.map(\.kind) == [.stopped])
        #expect(session.decoder.isStopped)
        #expect(session.rows == [[0, 0]])
        let tooLarge = DecoderSession(width: 10000, height: 10000)
        #expect(tooLarge.decoder.framebuffer == nil)
        #expect(tooLarge.problems.map(\.kind) == [.stopped])
    }

    @Test func aPPMHasTheHeaderAndRGBBytes() {
        var session = DecoderSession(width: 2, height: 1)
        session.server(update(1) + rect(0, 0, 2, 1, .raw) + px(0x102030) + px(0x405060))
        #expect(session.screen.ppm == Array("P6\n2 1\n255\n".utf8) + [0x10, 0x20, 0x30, 0x40, 0x50, 0x60])
    }
}
