import CZlib
import RFB
import RFBDecoding
import Testing

/// Tight and TightPNG (rfbproto): fill, basic compression over the four zlib streams with their
/// reset bits, the copy, palette and gradient filters, data under 12 bytes sent as it is, JPEG
/// and PNG; TPIXELs of 3 bytes at 32-bit depth 24, PIXELs otherwise (both byte orders).
@Suite struct RFBTightDecodingTests {
    static let rgb565BigEndian = RFBPixelFormat(
        bitsPerPixel: 16, depth: 16, bigEndian: true, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31,
        redShift: 11, greenShift: 5, blueShift: 0)

    /// A Tight rectangle: header, control byte, the rest.
    static func tight(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ control: UInt8, _ body: [UInt8]) -> [UInt8] {
        rect(x, y, w, h, .tight) + [control] + body
    }

    /// Distinct colours for `count` pixels.
    static func colours(_ count: Int, seed: UInt32 = 1) -> [UInt32] {
        (0..<count).map { i in (UInt32(i) &* 2_654_435_761 &+ seed &* 40503) & 0xFFFFFF }
    }

    @Test func fillWithATPixelAndWithA16BitPixelInEitherByteOrder() {
        var session = DecoderSession(width: 3, height: 2)
        session.server(update(1) + Self.tight(0, 0, 3, 2, 0x80, tpx(0x123456)))
        #expect(session.problems.isEmpty)
        #expect(session.rows == [[0x123456, 0x123456, 0x123456], [0x123456, 0x123456, 0x123456]])

        for bigEndian in [true, false] {
            var format = Self.rgb565BigEndian
            format.bigEndian = bigEndian
            var small = DecoderSession(width: 2, height: 1, format: format)
            // Pure red in RGB565 is 0xF800.
            small.server(update(1) + Self.tight(0, 0, 2, 1, 0x80, bigEndian ? [0xF8, 0x00] : [0x00, 0xF8]))
            #expect(small.problems.isEmpty)
            #expect(small.rows == [[0xFF0000, 0xFF0000]])
        }
    }

    @Test func copyFilterUnder12BytesIsSentAsItIs() {
        var session = DecoderSession(width: 2, height: 2)
        // Stream 2 (bits 4-5), no filter byte: 2 pixels = 6 bytes, uncompressed.
        session.server(update(1) + Self.tight(0, 1, 2, 1, 0x20, tpx(0xAABBCC) + tpx(0x010203)))
        #expect(session.problems.isEmpty)
        #expect(session.rows == [[0, 0], [0xAABBCC, 0x010203]])
    }

    @Test func fourStreamsContinueAcrossRectanglesAndResetBitsStartThemAgain() {
        var session = DecoderSession(width: 8, height: 4)
        var streams = (0..<4).map { _ in SyncFlushDeflater() }
        var expected = [[UInt32]](repeating: [UInt32](repeating: 0, count: 8), count: 4)
        var bytes = update(6)
        // Rows 0-3 through streams 0, 1, 3, 0 again (an explicit copy filter on the last).
        for (row, stream) in [0, 1, 3, 0].enumerated() {
            let pixels = Self.colours(8, seed: UInt32(row + 1))
            let explicitFilter = row == 3
            let control = UInt8(stream << 4) | (explicitFilter ? 0x40 : 0)
            let filter: [UInt8] = explicitFilter ? [0] : []
            bytes += Self.tight(0, row, 8, 1, control, filter + tightData(pixels.flatMap(tpx), streams[stream]))
            expected[row] = pixels
        }
        // Stream 1 reset (bit 1) and used again from a new zlib header.
        streams[1] = SyncFlushDeflater()
        let again = Self.colours(8, seed: 99)
        bytes += Self.tight(0, 2, 8, 1, 0x12, tightData(again.flatMap(tpx), streams[1]))
        expected[2] = again
        // Resetting all four streams with a fill changes nothing else.
        bytes += Self.tight(7, 3, 1, 1, 0x8F, tpx(0xFEDCBA))
        expected[3][7] = 0xFEDCBA
        session.server(bytes)
        #expect(session.problems.isEmpty)
        #expect(session.rows == expected)
    }

    @Test func paletteOfTwoColoursPacksABitAPixelInPaddedRows() {
        var session = DecoderSession(width: 10, height: 8)
        // 10x2 in two colours: 2 bytes a row, 4 in all: sent as they are.
        let small: [UInt8] = [0b1010_0000, 0b1100_0000, 0b0000_0001, 0b0100_0000]
        var bytes = update(2) + Self.tight(0, 0, 10, 2, 0x40, [1, 1] + tpx(0x111111) + tpx(0x999999) + small)
        // 10x6: 12 bytes, so through stream 0.
        let packed: [UInt8] = [0xFF, 0xC0, 0x00, 0x00, 0x80, 0x40, 0x55, 0x40, 0xAA, 0x80, 0x01, 0x00]
        let body: [UInt8] = [1, 1] + tpx(0x222222) + tpx(0xEEEEEE) + tightData(packed, SyncFlushDeflater())
        bytes += Self.tight(0, 2, 10, 6, 0x40, body)
        session.server(bytes)
        #expect(session.problems.isEmpty)
        let (a, b): (UInt32, UInt32) = (0x111111, 0x999999)
        #expect(session.rows[0] == [b, a, b, a, a, a, a, a, b, b])
        #expect(session.rows[1] == [a, a, a, a, a, a, a, b, a, b])
        let (c, d): (UInt32, UInt32) = (0x222222, 0xEEEEEE)
        #expect(session.rows[2] == [d, d, d, d, d, d, d, d, d, d])
        #expect(session.rows[3] == [c, c, c, c, c, c, c, c, c, c])
        #expect(session.rows[4] == [d, c, c, c, c, c, c, c, c, d])
        #expect(session.rows[5] == [c, d, c, d, c, d, c, d, c, d])
        #expect(session.rows[6] == [d, c, d, c, d, c, d, c, d, c])
        #expect(session.rows[7] == [c, c, c, c, c, c, c, d, c, c])
    }

    @Test func paletteOfManyColoursUsesAByteAPixel() {
        var session = DecoderSession(width: 4, height: 4)
        let palette = Self.colours(5)
        let indices: [UInt8] = [0, 1, 2, 3, 4, 3, 2, 1, 0, 0, 4, 4, 1, 2, 3, 4]
        let body = [0x01, 4] + palette.flatMap(tpx) + tightData(indices, SyncFlushDeflater())
        session.server(update(1) + Self.tight(0, 0, 4, 4, 0x40, body))
        #expect(session.problems.isEmpty)
        #expect(session.rows.flatMap { $0 } == indices.map { palette[Int($0)] })

        var bad = DecoderSession(width: 4, height: 4)
        var wrong = indices
        wrong[7] = 5
        bad.server(update(1) + Self.tight(0, 0, 4, 4, 0x40, [0x01, 4] + palette.flatMap(tpx) + tightData(wrong, SyncFlushDeflater())))
        #expect(bad.problems.map(\.kind) == [.malformed])
        #expect(bad.problems.first?.detail.contains("palette index 5 of 5 colours") == true)
    }

    @Test func gradientFilterAt24BitsAndAt16Bits() {
        let width = 7
        let height = 5
        // A smooth ramp plus some noise, so predictions overflow and underflow both ways.
        let pixels = (0..<width * height).map { i -> UInt32 in
            let x = UInt32(i % width)
            let y = UInt32(i / width)
            return (x * 37 + y * 11) % 256 << 16 | (255 - x * 30) << 8 | (y * 60 + (i % 3 == 0 ? 200 : 0)) % 256
        }
        var session = DecoderSession(width: width, height: height)
        let body = [0x02] + tightData(gradientEncoded(pixels, width: width), SyncFlushDeflater())
        session.server(update(1) + Self.tight(0, 0, width, height, 0x40, body))
        #expect(session.problems.isEmpty)
        #expect(session.rows.flatMap { $0 } == pixels)

        // RGB565 big-endian: channels of 5, 6, 5 bits, the prediction per channel.
        let values: [[Int]] = [[31, 0, 0], [0, 63, 31], [15, 32, 16], [1, 2, 3], [30, 60, 0], [0, 0, 31]]
        var data: [UInt8] = []
        for (i, value) in values.enumerated() {
            let x = i % 3
            let y = i / 3
            var encoded = 0
            for (c, (maximum, shift)) in [(31, 11), (63, 5), (31, 0)].enumerated() {
                let left = x > 0 ? values[i - 1][c] : 0
                let above = y > 0 ? values[i - 3][c] : 0
                let upperLeft = x > 0 && y > 0 ? values[i - 4][c] : 0
                let predicted = min(max(left + above - upperLeft, 0), maximum)
                encoded |= ((value[c] - predicted) & maximum) << shift
            }
            data += [UInt8(encoded >> 8), UInt8(encoded & 0xFF)]
        }
        var small = DecoderSession(width: 3, height: 2, format: Self.rgb565BigEndian)
        small.server(update(1) + Self.tight(0, 0, 3, 2, 0x40, [0x02] + tightData(data, SyncFlushDeflater())))
        #expect(small.problems.isEmpty)
        let scaled = values.map { v -> UInt32 in
            let red = UInt32((v[0] * 255 + 15) / 31)
            let green = UInt32((v[1] * 255 + 31) / 63)
            let blue = UInt32((v[2] * 255 + 15) / 31)
            return red << 16 | green << 8 | blue
        }
        #expect(small.rows.flatMap { $0 } == scaled)
    }

    @Test func jpegThroughTurboJPEGWithinASmallError() throws {
        let width = 24
        let height = 16
        let pixels = (0..<width * height).map { i -> UInt32 in
            let x = UInt32(i % width)
            let y = UInt32(i / width)
            return (x * 10) << 16 | (y * 15) << 8 | 0x80
        }
        let jpeg = jpegEncoded(pixels, width: width, height: height)
        var session = DecoderSession(width: width, height: height)
        session.server(update(1) + Self.tight(0, 0, width, height, 0x90, compactLength(jpeg.count) + jpeg))
        #expect(session.problems.isEmpty)
        let decoded = session.rows.flatMap { $0 }
        var worst = 0
        for (a, b) in zip(pixels, decoded) {
            for shift: UInt32 in [16, 8, 0] {
                let difference = abs(Int(a >> shift & 0xFF) - Int(b >> shift & 0xFF))
                worst = max(worst, difference)
            }
        }
        #expect(decoded.count == pixels.count)
        #expect(worst <= 8, "largest channel error \(worst)")

        var wrongSize = DecoderSession(width: 32, height: 16)
        wrongSize.server(update(1) + Self.tight(0, 0, 32, 16, 0x90, compactLength(jpeg.count) + jpeg))
        #expect(wrongSize.problems.map(\.kind) == [.malformed])
        #expect(wrongSize.problems.first?.detail.contains("24x16 JPEG image in a 32x16 rectangle") == true)

        var garbage = DecoderSession(width: 4, height: 4)
        garbage.server(update(2) + Self.tight(0, 0, 4, 4, 0x90, compactLength(5) + [1, 2, 3, 4, 5])
            + Self.tight(0, 0, 1, 1, 0x80, tpx(0x424242)))
        #expect(garbage.problems.map(\.kind) == [.malformed], "the next rectangle is drawn")
        #expect(garbage.rows[0][0] == 0x424242)
    }

    @Test func tightPNGDrawsPNGOverTheScreenByItsAlpha() {
        var session = DecoderSession(width: 2, height: 2)
        let rgba: [UInt8] = [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 200, 100, 0, 0]
        let png = pngEncoded(rgba: rgba, width: 2, height: 2)
        func tightPNG(_ control: UInt8, _ body: [UInt8]) -> [UInt8] { rect(0, 0, 2, 2, .tightPNG) + [control] + body }
        session.server(update(2) + tightPNG(0x80, tpx(0x808080)) + tightPNG(0xA0, compactLength(png.count) + png))
        #expect(session.problems.isEmpty)
        #expect(session.rows == [[0xFF0000, 0x00FF00], [0x0000FF, 0x808080]])
        // A PNG control byte in a Tight (not TightPNG) rectangle is not defined.
        session.server(update(1) + Self.tight(0, 0, 2, 2, 0xA0, compactLength(png.count) + png))
        #expect(session.problems.count == 1)
    }

    @Test func tightPNGRefusesBasicCompression() {
        var session = DecoderSession(width: 2, height: 1)
        // Basic compression, copy filter, two TPIXELs sent as they are (under 12 bytes).
        session.server(update(2) + rect(0, 0, 2, 1, .tightPNG) + [0x00] + tpx(0xFF0000) + tpx(0x00FF00)
            + rect(0, 0, 1, 1, .tightPNG) + [0x80] + tpx(0x0000FF))
        #expect(session.problems.count == 1)
        #expect(session.problems.first?.detail.contains("not basic compression") == true)
        #expect(session.rows == [[0x0000FF, 0]], "not drawn; the fill after it is")
    }

    @Test func aBrokenStreamReportsItsLaterRectanglesUntilReset() {
        var session = DecoderSession(width: 8, height: 1)
        let garbage: [UInt8] = Array(repeating: 0xFF, count: 20)
        let good = Self.colours(8)
        session.server(update(1) + Self.tight(0, 0, 8, 1, 0x10, compactLength(20) + garbage))
        session.server(update(1) + Self.tight(0, 0, 8, 1, 0x10, tightData(good.flatMap(tpx), SyncFlushDeflater())))
        // Stream 0 still works.
        session.server(update(1) + Self.tight(0, 0, 8, 1, 0x00, tightData(good.flatMap(tpx), SyncFlushDeflater())))
        #expect(session.problems.map(\.kind) == [.malformed, .notDecoded])
        #expect(session.rows[0] == good)
        // Resetting stream 1 (bit 1) makes it usable again.
        let other = Self.colours(8, seed: 7)
        session.server(update(1) + Self.tight(0, 0, 8, 1, 0x12, tightData(other.flatMap(tpx), SyncFlushDeflater())))
        #expect(session.problems.count == 2)
        #expect(session.rows[0] == other)
    }

    @Test func theSameByteByByteAndOutsideTheScreenKeepsTheStreamInStep() {
        let deflater = SyncFlushDeflater()
        let first = Self.colours(16, seed: 3)
        let second = Self.colours(16, seed: 4)
        let bytes = update(3) + Self.tight(0, 0, 4, 4, 0x00, tightData(first.flatMap(tpx), deflater))
            + Self.tight(2, 2, 4, 4, 0x00, tightData(first.flatMap(tpx), deflater))
            + Self.tight(0, 0, 4, 4, 0x00, tightData(second.flatMap(tpx), deflater))
        var session = DecoderSession(width: 4, height: 4)
        for byte in bytes { session.server([byte]) }
        // The second rectangle lies outside: reported, yet its data was inflated.
        #expect(session.problems.map(\.kind) == [.malformed])
        #expect(session.rows.flatMap { $0 } == second)
    }
}
