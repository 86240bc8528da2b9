import CZlib
import RFB
import RFBDecoding
import Testing

/// Keyframes: a decoder resumed from a snapshot (in memory or through its bytes) draws what the
/// decoder that took it draws; damaged snapshot bytes are refused with the byte named.
@Suite struct RFBDecoderSnapshotTests {
    typealias Chunks = [(RFBDirection, [UInt8])]

    /// A 40x20 session: ZRLE rectangles over one stream whose later data copies from earlier
    /// rectangles (so a resumed stream needs its window), a SetPixelFormat to RGB565 half-way,
    /// Raw and CopyRect rectangles, and one update split over three chunks.
    static func session(flush: Int32 = Z_SYNC_FLUSH) -> Chunks {
        let deflater = SyncFlushDeflater(flush: flush)
        var chunks = handshake(width: 40, height: 20)
        chunks.append((.clientToServer, [2, 0] + u16(2) + s32(RFBEncoding.zrle.rawValue) + s32(0)))
        func pattern(_ k: Int, _ w: Int, _ h: Int, _ cpixel: (UInt32) -> [UInt8]) -> [UInt8] {
            var tile: [UInt8] = [0]
            for i in 0..<w * h {
                let shade = (i % w + i / w + k) % 7
                tile += cpixel(UInt32(shade) * 0x241C3B)
            }
            return tile
        }
        for k in 0..<6 {
            let tiles = pattern(k, 40, 20, cpx)
            let compressed = deflater.compress(tiles)
            chunks.append((.clientToServer, [3, 1] + u16(0) + u16(0) + u16(40) + u16(20)))
            chunks.append((.serverToClient, update(1) + rect(0, 0, 40, 20, .zrle) + u32(compressed.count) + compressed))
        }
        // RGB565 little-endian from here: 2-byte CPIXELs.
        let rgb565 = RFBPixelFormat(
            bitsPerPixel: 16, depth: 16, bigEndian: false, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31,
            redShift: 11, greenShift: 5, blueShift: 0)
        chunks.append((.clientToServer, [0, 0, 0, 0] + rgb565.bytes))
        for k in 6..<10 {
            let tiles = pattern(k, 20, 10) { colour in
                let value = (colour >> 19 & 31) << 11 | (colour >> 10 & 63) << 5 | (colour >> 3 & 31)
                return [UInt8(value & 0xFF), UInt8(value >> 8)]
            }
            let compressed = deflater.compress(tiles)
            let raw = (0..<4).flatMap { i in [UInt8(i * 40), UInt8(k)] }
            let bytes =
                update(3) + rect(k, k, 20, 10, .zrle) + u32(compressed.count) + compressed + rect(30, 15, 2, 2, .raw)
                + raw + rect(0, 10, 10, 10, .copyRect) + u16(k) + u16(0)
            if k == 8 {
                // Split inside the rectangle data and inside a header: no boundary in between.
                chunks += [(.serverToClient, Array(bytes[0..<30])), (.serverToClient, Array(bytes[30..<60]))]
                chunks.append((.serverToClient, Array(bytes[60...])))
            } else {
                chunks.append((.serverToClient, bytes))
            }
        }
        return chunks
    }

    /// Decodes `chunks` from `start` on with `decoder`; the problems it reported.
    @discardableResult
    static func feed(_ decoder: RFBFramebufferDecoder, _ chunks: Chunks, from start: Int = 0) -> [RFBDecodeProblem] {
        var problems: [RFBDecodeProblem] = []
        for (direction, bytes) in chunks[start...] { problems += decoder.feed(direction, bytes) }
        return problems + decoder.finish()
    }

    @Test func resumingAtEveryBoundaryDrawsWhatDecodingFromTheStartDraws() throws {
        let chunks = Self.session()
        let resumed = try Self.resumeEverywhere(chunks, updates: 10)
        // Every chunk from ServerInit on is followed by a boundary, except the split update's first two.
        #expect(resumed == chunks.count - 6 - 2)
    }

    /// A Tight session using all four streams (later data referring back to earlier rectangles'),
    /// a reset of stream 2 half-way, Zlib rectangles, and a cursor with the pointer.
    @Test func resumingATightAndZlibSessionKeepsEveryStream() throws {
        var chunks = handshake(width: 16, height: 8)
        var streams = (0..<4).map { _ in SyncFlushDeflater() }
        let zlib = SyncFlushDeflater()
        for k in 0..<12 {
            let stream = k % 4
            if k == 6 { streams[2] = SyncFlushDeflater() }
            let pixels = (0..<32).map { i in UInt32((i + k / 4) % 5) * 0x330F21 }
            let control = UInt8(stream << 4) | (k == 6 ? 0x04 : 0)
            var bytes = update(3) + rect(0, k % 4 * 2, 16, 2, .tight) + [control]
                + tightData(pixels.flatMap(tpx), streams[stream])
            let compressed = zlib.compress(pixels.prefix(16).flatMap(px))
            bytes += rect(0, 7 - k % 3, 16, 1, .zlib) + u32(compressed.count) + compressed
            bytes += rect(0, 0, 1, 1, .cursor) + px(0xFF) + [0x80]
            chunks.append((.serverToClient, bytes))
            chunks.append((.clientToServer, [5, 0] + u16(k) + u16(k % 8)))
        }
        let resumed = try Self.resumeEverywhere(chunks, updates: 12)
        #expect(resumed == 24 + 1)
    }

    /// Decodes `chunks` once straight, then resumes at every message boundary (from the snapshot
    /// and from its bytes) and checks the same screen, cursor and count come out; how many.
    static func resumeEverywhere(_ chunks: Chunks, updates: Int) throws -> Int {
        let straight = RFBFramebufferDecoder()
        #expect(Self.feed(straight, chunks).isEmpty)
        let final = try #require(straight.framebuffer)
        #expect(straight.updateCount == updates)

        let decoder = RFBFramebufferDecoder()
        var resumed = 0
        var serverOffset: UInt64 = 0
        for (index, (direction, bytes)) in chunks.enumerated() {
            #expect(decoder.feed(direction, bytes).isEmpty)
            if direction == .serverToClient { serverOffset += UInt64(bytes.count) }
            guard decoder.isAtMessageBoundary else {
                #expect(decoder.snapshot() == nil)
                continue
            }
            let snapshot = try #require(decoder.snapshot(), "no snapshot after chunk \(index)")
            #expect(snapshot.serverOffset == serverOffset)
            #expect(snapshot.framebuffer == decoder.framebuffer)
            let read = try RFBDecoderSnapshot(serialized: snapshot.serialized)
            #expect(read == snapshot)
            for start in [snapshot, read] {
                let next = try RFBFramebufferDecoder(resumingFrom: start)
                #expect(Self.feed(next, chunks, from: index + 1).isEmpty)
                #expect(next.framebuffer == final, "resumed after chunk \(index)")
                #expect(next.framebufferWithCursor == straight.framebufferWithCursor)
                #expect(next.updateCount == straight.updateCount)
            }
            resumed += 1
        }
        return resumed
    }

    @Test func aStreamNotAtABlockBoundaryGivesNoSnapshot() throws {
        let chunks = Self.session(flush: Z_PARTIAL_FLUSH)
        let decoder = RFBFramebufferDecoder()
        var boundaries = 0
        var snapshots = 0
        for (index, (direction, bytes)) in chunks.enumerated() {
            #expect(decoder.feed(direction, bytes).isEmpty)
            // From the first ZRLE update on (after the handshake, SetEncodings and a request).
            guard decoder.isAtMessageBoundary, index >= 9 else { continue }
            boundaries += 1
            if let snapshot = decoder.snapshot() {
                snapshots += 1
                // A snapshot it does give must still be right.
                let next = try RFBFramebufferDecoder(resumingFrom: snapshot)
                let straight = RFBFramebufferDecoder()
                Self.feed(straight, chunks)
                Self.feed(next, chunks, from: index + 1)
                #expect(next.framebuffer == straight.framebuffer)
            }
        }
        #expect(boundaries > 5)
        #expect(snapshots < boundaries, "a partial flush leaves bits over, at least once")
    }

    /// A small serialized snapshot (after ServerInit and one ZRLE update).
    static func serializedSnapshot() throws -> [UInt8] {
        let decoder = RFBFramebufferDecoder()
        for (direction, bytes) in Self.session()[0..<10] { _ = decoder.feed(direction, bytes) }
        return try #require(decoder.snapshot()).serialized
    }

    @Test func everyDamagedOrTruncatedFormIsAnErrorNamingAByte() throws {
        let bytes = try Self.serializedSnapshot()
        #expect(bytes.count > 100)
        for index in bytes.indices {
            var damaged = bytes
            damaged[index] ^= 0x10
            #expect(throws: RFBSnapshotFormatError.self) { try RFBDecoderSnapshot(serialized: damaged) }
        }
        for length in 0..<bytes.count {
            let error = #expect(throws: RFBSnapshotFormatError.self) {
                try RFBDecoderSnapshot(serialized: bytes[0..<length])
            }
            #expect(error?.offset != nil)
        }
        let extended = #expect(throws: RFBSnapshotFormatError.self) { try RFBDecoderSnapshot(serialized: bytes + [0]) }
        #expect(extended?.offset == 10)
        #expect(extended?.description.contains("at byte 10") == true)
    }

    /// `bytes` with byte `index` set to `value` and the checksum made right again.
    static func patched(_ bytes: [UInt8], _ index: Int, _ value: UInt8) -> [UInt8] {
        var out = bytes
        out[index] = value
        let end = out.count - 4
        let crc = out.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt(end))) }
        out.replaceSubrange(end..., with: u32(Int(crc)))
        return out
    }

    @Test func fieldsThatAreWrongUnderAGoodChecksumAreNamed() throws {
        let bytes = try Self.serializedSnapshot()
        _ = try RFBDecoderSnapshot(serialized: Self.patched(bytes, 0, bytes[0]))

        let magic = #expect(throws: RFBSnapshotFormatError.self) {
            try RFBDecoderSnapshot(serialized: Self.patched(bytes, 0, 0))
        }
        #expect(magic?.offset == 0)
        let version = #expect(throws: RFBSnapshotFormatError.self) {
            try RFBDecoderSnapshot(serialized: Self.patched(bytes, 9, 99))
        }
        #expect(version?.offset == 8)
        #expect(version?.message.contains("version 99") == true)
        // Byte 34 is the client's stopped flag (after the 18-byte header and two U64 offsets).
        let flag = #expect(throws: RFBSnapshotFormatError.self) {
            try RFBDecoderSnapshot(serialized: Self.patched(bytes, 34, 7))
        }
        #expect(flag?.offset == 34)
        #expect(flag?.message.contains("client stopped flag") == true)
        // The ZRLE stream's state is the byte before its window's U32 length and bytes.
        let snapshot = try RFBDecoderSnapshot(serialized: bytes)
        guard case .window(let window) = snapshot.zrle else {
            Issue.record("the ZRLE stream is \(snapshot.zrle), not between blocks")
            return
        }
        // (then the four Tight streams and the Zlib stream, fresh, and no cursor or pointer:
        // one byte each).
        let stateAt = bytes.count - 4 - 7 - window.count - 4 - 1
        let state = #expect(throws: RFBSnapshotFormatError.self) {
            try RFBDecoderSnapshot(serialized: Self.patched(bytes, stateAt, 3))
        }
        #expect(state?.offset == stateAt)
    }

    /// `bytes` with `values` written from `index` on and the checksum made right again.
    static func patched(_ bytes: [UInt8], _ index: Int, _ values: [UInt8]) -> [UInt8] {
        var out = bytes
        for (k, value) in values.enumerated() { out = patched(out, index + k, value) }
        return out
    }

    @Test func aFramebufferSizeWhoseProductOverflowsIsAnError() throws {
        let bytes = try Self.serializedSnapshot()
        let screen = try #require(try RFBDecoderSnapshot(serialized: bytes).framebuffer)
        let size = u32(screen.width) + u32(screen.height)
        let at = try #require(
            (0...bytes.count - size.count).first { Array(bytes[$0..<$0 + size.count]) == size })
        for (width, height) in [(UInt32.max, UInt32.max), (1 << 31, 1 << 31), (1 << 27, 1), (1, 1 << 27)] {
            let forged = Self.patched(bytes, at, u32(Int(width)) + u32(Int(height)))
            let error = #expect(throws: RFBSnapshotFormatError.self) { try RFBDecoderSnapshot(serialized: forged) }
            #expect(error?.offset == at)
            #expect(error?.message.contains("\(width)x\(height) framebuffer") == true)
        }
    }

    @Test func streamOffsetsNear2To64AreAnError() throws {
        let bytes = try Self.serializedSnapshot()
        // The client's and the server's offsets are the U64s at bytes 18 and 26.
        for at in [18, 26] {
            for offset in [UInt64.max - 2, RFBDecoderSnapshot.maximumOffset + 1] {
                let big = (0..<8).map { UInt8(truncatingIfNeeded: offset >> (56 - 8 * $0)) }
                let error = #expect(throws: RFBSnapshotFormatError.self) {
                    try RFBDecoderSnapshot(serialized: Self.patched(bytes, at, big))
                }
                #expect(error?.offset == 18)
                #expect(error?.message.contains("\(offset)") == true)
            }
        }
        let largest = (0..<8).map { UInt8(truncatingIfNeeded: RFBDecoderSnapshot.maximumOffset >> (56 - 8 * $0)) }
        let resumed = try RFBFramebufferDecoder(
            resumingFrom: RFBDecoderSnapshot(serialized: Self.patched(Self.patched(bytes, 18, largest), 26, largest)))
        // A Bell and a PointerEvent each time.
        for _ in 0..<3 {
            #expect(resumed.feed(.serverToClient, [2]).isEmpty)
            #expect(resumed.feed(.clientToServer, [5, 0] + u16(1) + u16(1)).isEmpty)
        }
        let after = try #require(resumed.snapshot())
        #expect(after.serverOffset == RFBDecoderSnapshot.maximumOffset + 3)
        #expect(after.clientOffset == RFBDecoderSnapshot.maximumOffset + 18)
    }

    @Test func aParserResumedNearTheLargestOffsetDoesNotTrap() {
        let point = RFBSessionParser.ResumePoint(
            state: RFBSessionState(), clientOffset: .max - 3, serverOffset: .max - 1, clientStopped: false,
            serverStopped: false)
        var parser = RFBSessionParser(resumingAt: point)
        var offsets: [UInt64] = []
        for _ in 0..<3 {
            for event in parser.feed(.serverToClient, [2]) + parser.feed(.clientToServer, [5, 0] + u16(1) + u16(1)) {
                guard case .message(let message) = event else {
                    Issue.record("\(event)")
                    continue
                }
                offsets.append(message.offset)
            }
        }
        #expect(offsets.count == 6)
        #expect(offsets.allSatisfy { $0 >= .max - 3 })
        #expect(parser.resumePoint?.serverOffset == .max)
        #expect(parser.resumePoint?.clientOffset == .max)
    }

    @Test func aColourMapIsKeptAcrossASnapshot() throws {
        let indexed = RFBPixelFormat(
            bitsPerPixel: 8, depth: 8, bigEndian: false, trueColour: false, redMax: 0, greenMax: 0, blueMax: 0,
            redShift: 0, greenShift: 0, blueShift: 0)
        let decoder = RFBFramebufferDecoder()
        var chunks = handshake(width: 2, height: 1, format: indexed)
        chunks.append((.serverToClient, [1, 0] + u16(5) + u16(1) + u16(0xFF00) + u16(0x8000) + u16(0x1200)))
        for (direction, bytes) in chunks { #expect(decoder.feed(direction, bytes).isEmpty) }
        let snapshot = try #require(decoder.snapshot())
        #expect(snapshot.colourMap.count == 256)
        #expect(snapshot.colourMap[5] == 0xFF8012)
        let read = try RFBDecoderSnapshot(serialized: snapshot.serialized)
        #expect(read == snapshot)
        for start in [snapshot, read] {
            let next = try RFBFramebufferDecoder(resumingFrom: start)
            #expect(next.feed(.serverToClient, update(1) + rect(0, 0, 2, 1, .raw) + [5, 0]).isEmpty)
            #expect(next.framebuffer?.pixels == [0xFF8012, 0])
        }
    }

    @Test func insideAMessageThereIsNoSnapshot() {
        let decoder = RFBFramebufferDecoder()
        #expect(decoder.snapshot() == nil, "before the handshake")
        for (direction, bytes) in handshake(width: 4, height: 4) { _ = decoder.feed(direction, bytes) }
        #expect(decoder.isAtMessageBoundary)
        _ = decoder.feed(.serverToClient, update(1) + rect(0, 0, 4, 4, .raw) + [1, 2, 3])
        #expect(!decoder.isAtMessageBoundary)
        #expect(decoder.snapshot() == nil)
        _ = decoder.feed(.clientToServer, [3, 0, 0])
        _ = decoder.feed(.serverToClient, [UInt8](repeating: 0, count: 61))
        #expect(!decoder.isAtMessageBoundary, "the client is inside a FramebufferUpdateRequest")
        _ = decoder.feed(.clientToServer, [0, 0, 0, 0, 4, 0, 4])
        #expect(decoder.snapshot() != nil)
    }
}
