import RFB
import Testing

@Suite("FramebufferUpdate rectangles: every encoding's length found, nothing decoded")
struct RFBRectangleTests {
    /// The rectangles of one FramebufferUpdate made of `rectangles` (header + data each), after a
    /// connection with `format`; checks that the update used every byte and nothing was left.
    func rectangles(
        _ rectangles: [[UInt8]], format: [UInt8] = pixelFormat32, encodings: [Int32] = [], lastRect: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [RFBRectangle] {
        var script = RFBScript.connected(format: format, encodings: encodings)
        let offset = script.totals[.serverToClient] ?? 0
        let body = update(lastRect ? 0xFFFF : UInt16(rectangles.count)) + rectangles.joined()
        script.server(body + [2])  // a Bell after the update shows where the update ended
        let events = script.parse()
        let messages = events.compactMap(\.parsedMessage).filter { $0.direction == .serverToClient }
        try #require(
            events.count == events.compactMap(\.parsedMessage).count, "\(events.last!)", sourceLocation: sourceLocation)
        try #require(messages.count >= 2, sourceLocation: sourceLocation)
        let fbu = messages[messages.count - 2]
        #expect(messages.last?.message == .bell, sourceLocation: sourceLocation)
        #expect(fbu.offset == offset && fbu.length == UInt64(body.count), sourceLocation: sourceLocation)
        guard case .framebufferUpdate(let parsed) = fbu.message else {
            Issue.record("not an update: \(fbu.message)", sourceLocation: sourceLocation)
            return []
        }
        // Each rectangle's offset and data length tile the update.
        var position = offset + 4
        for rectangle in parsed.rectangles {
            #expect(rectangle.offset == position, sourceLocation: sourceLocation)
            position += 12 + rectangle.dataLength
        }
        #expect(position == offset + UInt64(body.count), sourceLocation: sourceLocation)
        return parsed.rectangles
    }

    /// The one problem parsing an update of `rectangles` gives.
    func problem(_ rectangles: [[UInt8]], format: [UInt8] = pixelFormat32) -> RFBParseProblem? {
        var script = RFBScript.connected(format: format)
        script.server(update(UInt16(rectangles.count)) + rectangles.joined() + [2])
        guard case .problem(let problem) = script.parse().last else { return nil }
        return problem
    }

    @Test("Raw is width × height × bytes per pixel, after SetPixelFormat too")
    func raw() throws {
        let r = try rectangles([rect(0, 0, 3, 2, 0) + [UInt8](repeating: 9, count: 24)])
        #expect(r.map(\.dataLength) == [24])
        #expect(
            RFBMessage.framebufferUpdate(RFBFramebufferUpdate(declaredCount: 1, rectangles: r)).description
                == "FramebufferUpdate 1 rect: 0,0 3x2 Raw (24 bytes)")
        // 16 bits per pixel from ServerInit, then 32 after a SetPixelFormat.
        var script = RFBScript.connected(format: pixelFormat16)
        script.server(update(1) + rect(0, 0, 2, 2, 0) + [UInt8](repeating: 1, count: 8))
        script.client([0, 0, 0, 0] + pixelFormat32)
        script.server(update(1) + rect(0, 0, 2, 2, 0) + [UInt8](repeating: 1, count: 16))
        let updates = script.parse().compactMap { event -> UInt64? in
            guard case .message(let parsed) = event, case .framebufferUpdate = parsed.message else { return nil }
            return parsed.length
        }
        #expect(updates == [24, 32], "4 + 12 + 2×2×2, then 4 + 12 + 2×2×4")
    }

    @Test("CopyRect, RRE, CoRRE")
    func copyRectAndRRE() throws {
        let r = try rectangles([
            rect(10, 10, 16, 16, 1) + u16(0) + u16(5),
            rect(0, 0, 8, 8, 2) + u32(2) + [1, 1, 1, 1] + ([2, 2, 2, 2] + u16(0) + u16(0) + u16(1) + u16(1))
                + ([3, 3, 3, 3] + u16(1) + u16(1) + u16(2) + u16(2)),
            rect(0, 0, 8, 8, 4) + u32(1) + [1, 1, 1, 1] + [2, 2, 2, 2, 0, 0, 1, 1],
        ])
        #expect(r.map(\.dataLength) == [4, 8 + 24, 8 + 8])
        #expect(r[0].detail == .copyRect(sourceX: 0, sourceY: 5))
        #expect(r[0].description == "10,10 16x16 CopyRect from 0,5")
    }

    @Test("Hextile: raw, background, foreground, subrectangles, coloured subrectangles, partial tiles")
    func hextile() throws {
        // 20x17: tiles 16x16, 4x16, 16x1, 4x1.
        let tiles: [UInt8] =
            [1] + [UInt8](repeating: 0, count: 16 * 16 * 4)  // raw
            + [2 | 4 | 8] + [1, 1, 1, 1] + [2, 2, 2, 2] + [2] + [0x00, 0x33, 0x11, 0x00]  // bg, fg, 2 subrects
            + [8 | 16] + [1] + [5, 5, 5, 5, 0x00, 0x00]  // 1 coloured subrect, background carried over
            + [0]  // solid background carried over
        let r = try rectangles([rect(0, 0, 20, 17, 5) + tiles])
        #expect(r.map(\.dataLength) == [UInt64(tiles.count)])
        #expect(problem([rect(0, 0, 16, 16, 5) + [0x20]])?.kind == .malformed)
    }

    @Test("ZlibHex: zlib tiles carry their own length")
    func zlibHex() throws {
        let tiles: [UInt8] = [0x20] + u16(3) + [1, 2, 3] + [0x40 | 2 | 8] + u16(2) + [9, 9]
        let r = try rectangles([rect(0, 0, 32, 16, 8) + tiles])
        #expect(r.map(\.dataLength) == [UInt64(tiles.count)])
    }

    @Test("ZRLE, ZYWRLE and zlib: a U32 length")
    func lengthPrefixed() throws {
        let r = try rectangles([
            rect(0, 0, 64, 64, 16) + u32(5) + [1, 2, 3, 4, 5], rect(0, 0, 1, 1, 17) + u32(0),
            rect(0, 0, 1, 1, 6) + u32(2) + [7, 7],
        ])
        #expect(r.map(\.dataLength) == [9, 4, 6])
    }

    @Test("TRLE: raw, solid, packed palette, reused palettes, plain and palette RLE (3-byte CPIXEL)")
    func trle() throws {
        // 64x16: four 16x16 tiles of 256 pixels; 32bpp depth 24 gives 3-byte CPIXELs.
        let tiles: [UInt8] =
            [1] + [1, 2, 3]  // solid
            + [3] + [UInt8](repeating: 4, count: 9) + [UInt8](repeating: 0, count: 4 * 16)  // packed, 3 colours: 2 bits
            + [127] + [UInt8](repeating: 0, count: 4 * 16)  // packed with the previous palette
            + [130] + [UInt8](repeating: 6, count: 6) + [0x80, 199, 0x81, 55]  // palette RLE: runs of 200 and 56
        let r = try rectangles([rect(0, 0, 64, 16, 15) + tiles])
        #expect(r.map(\.dataLength) == [UInt64(tiles.count)])

        // Plain RLE with a long run (255 + 1 = 256 pixels) and raw CPIXELs.
        let plain: [UInt8] = [128] + [1, 2, 3] + [255, 0] + [0] + [UInt8](repeating: 1, count: 2 * 16 * 3)
        let second = try rectangles([rect(0, 0, 18, 16, 15) + plain])
        #expect(second.map(\.dataLength) == [UInt64(plain.count)])

        #expect(problem([rect(0, 0, 16, 16, 15) + [127]])?.kind == .malformed, "no palette to reuse")
        #expect(problem([rect(0, 0, 16, 16, 15) + [50]])?.kind == .malformed, "subencoding 50 is unused")
        #expect(problem([rect(0, 0, 2, 1, 15) + [128, 1, 2, 3, 5]])?.kind == .malformed, "a run past the tile")
    }

    @Test("Tight: fill, JPEG, basic copy raw and compressed, palette, gradient; TightPNG's PNG")
    func tight() throws {
        let r = try rectangles([
            // fill: one 3-byte TPIXEL
            rect(0, 0, 100, 100, 7) + [0x80, 1, 2, 3],
            // JPEG, compact length 10000
            rect(0, 0, 100, 100, 7) + [0x90, 0x90, 0x4E] + [UInt8](repeating: 0, count: 10000),
            // copy, 6 bytes < 12: sent as is
            rect(0, 0, 2, 1, 7) + [0x00] + [1, 2, 3, 4, 5, 6],
            // copy filter explicit, zlib length 5
            rect(0, 0, 10, 10, 7) + [0x41, 0x00] + [5] + [1, 2, 3, 4, 5],
            // 2 colours: 2×2 bytes raw
            rect(0, 0, 16, 2, 7) + [0x40, 0x01, 1] + [UInt8](repeating: 8, count: 6) + [1, 2, 3, 4],
            // 5 colours: 32 bytes, zlib length 3
            rect(0, 0, 16, 2, 7) + [0x40, 0x01, 4] + [UInt8](repeating: 8, count: 15) + [3, 7, 7, 7],
            // gradient, zlib length 129
            rect(0, 0, 8, 8, 7) + [0x40, 0x02] + [0x81, 0x01] + [UInt8](repeating: 0, count: 129),
        ])
        #expect(r.map(\.dataLength) == [4, 10003, 7, 8, 13, 22, 133])
        #expect(
            r.map(\.detail) == [
                .tight("fill"), .tight("jpeg"), .tight("basic copy"), .tight("basic copy"), .tight("basic palette 2"),
                .tight("basic palette 5"), .tight("basic gradient"),
            ])
        let png = try rectangles([rect(0, 0, 4, 4, -260) + [0xA0, 3, 1, 2, 3]])
        #expect(png.map(\.detail) == [.tight("png")])
        #expect(problem([rect(0, 0, 4, 4, 7) + [0xA0, 3, 1, 2, 3]])?.kind == .malformed, "PNG is TightPNG only")
        // 16 bits per pixel: TPIXEL is a PIXEL.
        let small = try rectangles([rect(0, 0, 1, 1, 7) + [0x80, 1, 2]], format: pixelFormat16)
        #expect(small.map(\.dataLength) == [3])
    }

    @Test("JPEG: markers, segments, entropy data with stuffing and restarts, up to EOI")
    func jpeg() throws {
        let image: [UInt8] =
            [0xFF, 0xD8]  // SOI
            + [0xFF, 0xE0] + u16(6) + [1, 2, 3, 4]  // APP0
            + [0xFF, 0xFF, 0xDA] + u16(4) + [0, 0]  // a fill byte, then SOS
            + [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF]  // data, stuffed FF, RST0, a trailing FF…
            + [0xFF, 0xD9]  // …that is fill before EOI
        let r = try rectangles([rect(0, 0, 8, 8, 21) + image])
        #expect(r.map(\.dataLength) == [UInt64(image.count)])
        #expect(problem([rect(0, 0, 8, 8, 21) + [0xFF, 0xE0]])?.kind == .malformed, "no SOI")
    }

    @Test("H.264: length and flags, then the data")
    func h264() throws {
        let r = try rectangles([rect(0, 0, 640, 480, 50) + u32(3) + u32(1) + [0, 0, 1]])
        #expect(r.map(\.dataLength) == [11])
        #expect(r[0].detail == .h264(flags: 1))
    }

    @Test("pseudo-rectangles: cursors, sizes, name, LED state, LastRect")
    func pseudo() throws {
        let screens = [1] + [0, 0, 0] + u32(1) + u16(0) + u16(0) + u16(1024) + u16(768) + u32(0)
        let r = try rectangles(
            [
                rect(2, 3, 9, 2, -239) + [UInt8](repeating: 0, count: 9 * 2 * 4 + 2 * 2),  // pixels + 2-byte mask rows
                rect(0, 0, 9, 2, -240) + [UInt8](repeating: 0, count: 6 + 2 * 4),
                rect(0, 0, 0, 0, -240),
                rect(0, 0, 2, 2, 0x574D_5664) + [0, 0] + [UInt8](repeating: 0, count: 2 * 4 * 4),
                rect(0, 0, 2, 2, 0x574D_5664) + [1, 0] + [UInt8](repeating: 0, count: 4 * 4),
                rect(0, 0, 1024, 768, -223),
                rect(0, 0, 1024, 768, -308) + screens,
                rect(0, 0, 0, 0, -307) + u32(3) + ascii("abc"),
                rect(0, 0, 0, 0, -261) + [4],
                rect(0, 0, 0, 0, -258),
                rect(0, 0, 0, 0, -224),
            ], lastRect: true)
        #expect(r.map(\.dataLength) == [76, 14, 0, 34, 18, 0, 20, 7, 1, 0, 0])
        #expect(r[6].detail == .screens([RFBScreen(id: 1, x: 0, y: 0, width: 1024, height: 768, flags: 0)]))
        #expect(r[7].detail == .desktopName("abc"))
        #expect(r[8].detail == .ledState(4))
        #expect(r[6].description == "ExtendedDesktopSize 1024x768 by server ok screens [#1 0,0 1024x768]")
        let update = RFBFramebufferUpdate(declaredCount: 0xFFFF, rectangles: r)
        #expect(update.endedByLastRect)
        #expect(
            RFBMessage.framebufferUpdate(update).description.hasPrefix(
                "FramebufferUpdate 11 rects (ended by LastRect): Cursor 9x2 hotspot 2,3 (76 bytes); "))
        #expect(RFBMessage.framebufferUpdate(update).description.hasSuffix("; … 3 more (1 bytes)"))
    }

    @Test("an encoding whose length is unknown stops the server stream with the update's offset")
    func unknownEncoding() throws {
        let p = try #require(
            problem([rect(0, 0, 4, 4, 0) + [UInt8](repeating: 0, count: 64), rect(0, 0, 4, 4, 1234) + [1, 2, 3]]))
        #expect(p.kind == .unknown && p.direction == .serverToClient && p.offset == 46)
        #expect(p.detail.contains("rectangle 2 at offset 126") && p.detail.contains("1234"))
        #expect(p.description.hasSuffix("at server offset 46; later server bytes are not followed"))
    }
}
