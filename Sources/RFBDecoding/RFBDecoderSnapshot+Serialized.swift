import CZlib
import RFB

/// A keyframe snapshot as bytes, for a cache file (docs/rfb-decoder.md, "Keyframes"): the magic
/// `RFBSNAP\n`, a U16 format version, a U64 length of the whole, the fields big-endian, and a
/// CRC-32 of everything before it. The screen's pixels are kept as zlib-compressed RGB.
extension RFBDecoderSnapshot {
    static let magic = Array("RFBSNAP\n".utf8)
    /// Raised whenever the fields change: an older cache file is then refused (and rebuilt).
    public static let formatVersion: UInt16 = 4
    /// Magic, version and length.
    private static let headerSize = 18

    /// The snapshot as bytes; ``init(serialized:)`` reads them back.
    public var serialized: [UInt8] {
        var out = RFBSnapshotWriter()
        for byte in Self.magic { out.u8(byte) }
        out.u16(Self.formatVersion)
        out.u64(0)
        write(parser, to: &out)
        out.u64(UInt64(updateCount))
        out.bool(isStopped)
        out.optional(pixelFormat) { out, format in for byte in format.bytes { out.u8(byte) } }
        out.u32(UInt32(colourMap.count))
        for colour in colourMap { out.u32(colour) }
        out.optional(framebuffer) { out, screen in
            out.u32(UInt32(screen.width))
            out.u32(UInt32(screen.height))
            out.data(Self.compressed(screen.pixels))
        }
        Self.write(zrle, to: &out)
        for stream in tight { Self.write(stream, to: &out) }
        Self.write(zlib, to: &out)
        out.optional(cursor) { out, cursor in
            for value in [cursor.width, cursor.height, cursor.hotspotX, cursor.hotspotY] { out.u16(UInt16(value)) }
            for pixel in cursor.pixels { out.u32(pixel) }
        }
        out.optional(pointer) { out, pointer in
            out.u16(UInt16(clamping: pointer.x))
            out.u16(UInt16(clamping: pointer.y))
        }
        out.patch(u64: UInt64(out.bytes.count + 4), at: Self.magic.count + 2)
        let crc = out.bytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        out.u32(UInt32(crc))
        return out.bytes
    }

    /// Reads a snapshot ``serialized`` made; any damage (a wrong magic or version, a length that
    /// does not match, a bad checksum or field) is an error naming the byte.
    public init(serialized: some Collection<UInt8>) throws(RFBSnapshotFormatError) {
        let bytes = Array(serialized)
        func fail(_ message: String, at offset: Int) -> RFBSnapshotFormatError {
            RFBSnapshotFormatError(offset: offset, message: message)
        }
        guard bytes.count >= Self.headerSize + 4 else {
            throw fail("\(bytes.count) bytes are too few for a snapshot", at: bytes.count)
        }
        guard Array(bytes[0..<Self.magic.count]) == Self.magic else { throw fail("no RFBSNAP magic", at: 0) }
        var header = RFBSnapshotReader(bytes, from: Self.magic.count, end: Self.headerSize)
        let version = try header.u16("version")
        guard version == Self.formatVersion else {
            throw fail("format version \(version) (this decoder reads \(Self.formatVersion))", at: Self.magic.count)
        }
        let length = try header.u64("length")
        guard length == UInt64(bytes.count) else {
            throw fail("the snapshot says it is \(length) bytes long, \(bytes.count) are there", at: Self.magic.count + 2)
        }
        let end = bytes.count - 4
        let stored = bytes[end...].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let crc = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt(end))) }
        guard crc == stored else { throw fail("CRC-32 \(crc) does not match the stored \(stored)", at: end) }

        var input = RFBSnapshotReader(bytes, from: Self.headerSize, end: end)
        let parser = try Self.readParser(&input)
        let updateCount = try input.u64("update count")
        guard updateCount <= UInt64(Int.max) else { throw input.failure("update count \(updateCount)") }
        let isStopped = try input.bool("stopped flag")
        let format = try input.optional("pixel format") { input throws(RFBSnapshotFormatError) in
            RFBPixelFormat(input.bytes[try input.take(16, "pixel format")..<input.index])
        }
        let colourMapAt = input.index
        let colourCount = Int(try input.u32("colour map size"))
        let expectedColours = format.flatMap { RFBPixelConverter($0)?.colourMap.count } ?? 0
        guard colourCount == expectedColours else {
            throw input.failure("a colour map of \(colourCount) entries (\(expectedColours) expected)", at: colourMapAt)
        }
        var colourMap: [UInt32] = []
        colourMap.reserveCapacity(colourCount)
        for _ in 0..<colourCount { colourMap.append(try input.u32("colour map")) }
        let framebuffer = try input.optional("framebuffer") { input throws(RFBSnapshotFormatError) in
            try Self.readFramebuffer(&input)
        }
        let zrle = try Self.readStream(&input, "ZRLE stream")
        var tight: [RFBZlibStreamState] = []
        for index in 0..<4 { tight.append(try Self.readStream(&input, "Tight stream \(index)")) }
        let zlib = try Self.readStream(&input, "Zlib stream")
        let cursor = try input.optional("cursor") { input throws(RFBSnapshotFormatError) in
            try Self.readCursor(&input)
        }
        let pointer = try input.optional("pointer") { input throws(RFBSnapshotFormatError) in
            RFBPointerPosition(x: Int(try input.u16("pointer x")), y: Int(try input.u16("pointer y")))
        }
        guard input.index == end else { throw input.failure("\(end - input.index) bytes after the last field") }
        self.init(
            parser: parser, framebuffer: framebuffer, pixelFormat: format, colourMap: colourMap,
            updateCount: Int(updateCount), isStopped: isStopped, zrle: zrle, tight: tight, zlib: zlib,
            cursor: cursor, pointer: pointer)
    }

    // MARK: Parts

    private func write(_ point: RFBSessionParser.ResumePoint, to out: inout RFBSnapshotWriter) {
        out.u64(point.clientOffset)
        out.u64(point.serverOffset)
        out.bool(point.clientStopped)
        out.bool(point.serverStopped)
        let state = point.state
        for version in [state.serverVersion, state.clientVersion] {
            out.optional(version) { out, version in
                out.u16(UInt16(clamping: version.major))
                out.u16(UInt16(clamping: version.minor))
            }
        }
        out.data(state.offeredSecurityTypes.map(\.rawValue))
        out.optional(state.securityType) { out, type in out.u8(type.rawValue) }
        out.optional(state.pixelFormat) { out, format in for byte in format.bytes { out.u8(byte) } }
        out.optional(state.framebufferWidth) { out, width in out.u16(width) }
        out.optional(state.framebufferHeight) { out, height in out.u16(height) }
        out.optional(state.desktopName) { out, name in out.data(Array(name.utf8)) }
        out.u32(UInt32(state.encodings.count))
        for encoding in state.encodings { out.u32(UInt32(bitPattern: encoding.rawValue)) }
        out.bool(state.extendedMouseButtonsConfirmed)
    }

    private static func readParser(_ input: inout RFBSnapshotReader) throws(RFBSnapshotFormatError)
        -> RFBSessionParser.ResumePoint
    {
        let offsetsAt = input.index
        let clientOffset = try input.u64("client offset")
        let serverOffset = try input.u64("server offset")
        guard max(clientOffset, serverOffset) <= RFBDecoderSnapshot.maximumOffset else {
            throw input.failure(
                "stream offsets \(clientOffset) and \(serverOffset) (at most \(RFBDecoderSnapshot.maximumOffset))",
                at: offsetsAt)
        }
        let clientStopped = try input.bool("client stopped flag")
        let serverStopped = try input.bool("server stopped flag")
        var state = RFBSessionState()
        func version(_ input: inout RFBSnapshotReader) throws(RFBSnapshotFormatError) -> RFBProtocolVersion {
            RFBProtocolVersion(major: Int(try input.u16("version major")), minor: Int(try input.u16("version minor")))
        }
        state.serverVersion = try input.optional("server version", version)
        state.clientVersion = try input.optional("client version", version)
        state.offeredSecurityTypes = try input.data("security types", limit: 255).map { RFBSecurityType(rawValue: $0) }
        state.securityType = try input.optional("security type") { input throws(RFBSnapshotFormatError) in
            RFBSecurityType(rawValue: try input.u8("security type"))
        }
        state.pixelFormat = try input.optional("session pixel format") { input throws(RFBSnapshotFormatError) in
            RFBPixelFormat(input.bytes[try input.take(16, "session pixel format")..<input.index])
        }
        state.framebufferWidth = try input.optional("width") { input throws(RFBSnapshotFormatError) in
            try input.u16("width")
        }
        state.framebufferHeight = try input.optional("height") { input throws(RFBSnapshotFormatError) in
            try input.u16("height")
        }
        state.desktopName = try input.optional("desktop name") { input throws(RFBSnapshotFormatError) in
            String(decoding: try input.data("desktop name", limit: RFBSessionParser.stringLimit), as: UTF8.self)
        }
        let encodingsAt = input.index
        let encodingCount = Int(try input.u32("encoding count"))
        guard encodingCount <= (input.end - input.index) / 4 else {
            throw input.failure("\(encodingCount) encodings do not fit the snapshot", at: encodingsAt)
        }
        for _ in 0..<encodingCount {
            state.encodings.append(RFBEncoding(Int32(bitPattern: try input.u32("encoding"))))
        }
        state.extendedMouseButtonsConfirmed = try input.bool("extended mouse buttons flag")
        return RFBSessionParser.ResumePoint(
            state: state, clientOffset: clientOffset, serverOffset: serverOffset, clientStopped: clientStopped,
            serverStopped: serverStopped)
    }

    private static func readFramebuffer(_ input: inout RFBSnapshotReader) throws(RFBSnapshotFormatError)
        -> RFBFramebuffer
    {
        let sizeAt = input.index
        let width = Int(try input.u32("framebuffer width"))
        let height = Int(try input.u32("framebuffer height"))
        // Each side first: two u32 fields multiplied can pass Int.max.
        let maximum = RFBFramebufferDecoder.maximumPixels
        guard width <= maximum, height <= maximum, width * height <= maximum else {
            throw input.failure("a \(width)x\(height) framebuffer is larger than any decoded", at: sizeAt)
        }
        let dataAt = input.index
        let data = try input.data("framebuffer pixels", limit: Int(compressBound(uLong(width * height * 3))))
        guard let pixels = decompressed(data, count: width * height),
            let screen = RFBFramebuffer(width: width, height: height, pixels: pixels)
        else {
            throw input.failure("the framebuffer's pixels do not inflate to \(width)x\(height)", at: dataAt)
        }
        return screen
    }

    private static func readCursor(_ input: inout RFBSnapshotReader) throws(RFBSnapshotFormatError) -> RFBCursor {
        let width = Int(try input.u16("cursor width"))
        let height = Int(try input.u16("cursor height"))
        let hotspotX = Int(try input.u16("cursor hotspot x"))
        let hotspotY = Int(try input.u16("cursor hotspot y"))
        guard width * height <= RFBFramebufferDecoder.maximumCursorPixels else {
            throw input.failure("a \(width)x\(height) cursor is larger than any decoded")
        }
        guard width * height <= (input.end - input.index) / 4 else {
            throw input.failure("a \(width)x\(height) cursor does not fit the snapshot")
        }
        var pixels: [UInt32] = []
        pixels.reserveCapacity(width * height)
        for _ in 0..<width * height { pixels.append(try input.u32("cursor pixel")) }
        return RFBCursor(width: width, height: height, hotspotX: hotspotX, hotspotY: hotspotY, pixels: pixels)
    }

    private static func write(_ stream: RFBZlibStreamState, to out: inout RFBSnapshotWriter) {
        switch stream {
        case .fresh:
            out.u8(0)
        case .window(let window):
            out.u8(1)
            out.data(window)
        case .broken(let offset):
            out.u8(2)
            out.u64(offset)
        }
    }

    private static func readStream(_ input: inout RFBSnapshotReader, _ what: String) throws(RFBSnapshotFormatError)
        -> RFBZlibStreamState
    {
        let at = input.index
        switch try input.u8(what) {
        case 0: return .fresh
        case 1: return .window(Array(try input.data("\(what) window", limit: RFBInflater.windowSize)))
        case 2: return .broken(at: try input.u64("\(what) break offset"))
        case let other: throw input.failure("\(what): state \(other) is not 0, 1 or 2", at: at)
        }
    }

    // MARK: Pixels

    /// `0x00RRGGBB` pixels as RGB bytes, zlib-compressed (level 1: keyframes are written often).
    private static func compressed(_ pixels: [UInt32]) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: pixels.count * 3)
        rgb.withUnsafeMutableBufferPointer { out in
            for (i, pixel) in pixels.enumerated() {
                out[3 * i] = UInt8(truncatingIfNeeded: pixel >> 16)
                out[3 * i + 1] = UInt8(truncatingIfNeeded: pixel >> 8)
                out[3 * i + 2] = UInt8(truncatingIfNeeded: pixel)
            }
        }
        var length = compressBound(uLong(rgb.count))
        var out = [UInt8](repeating: 0, count: Int(length))
        let status = out.withUnsafeMutableBufferPointer { outBuffer in
            rgb.withUnsafeBufferPointer { compress2(outBuffer.baseAddress, &length, $0.baseAddress, uLong($0.count), 1) }
        }
        precondition(status == Z_OK, "compress2 into compressBound bytes failed (\(status))")
        return Array(out[0..<Int(length)])
    }

    /// The `count` pixels of ``compressed(_:)``'s output; nil unless it inflates to exactly them.
    private static func decompressed(_ data: ArraySlice<UInt8>, count: Int) -> [UInt32]? {
        var rgb = [UInt8](repeating: 0, count: count * 3)
        var length = uLong(rgb.count)
        let status = rgb.withUnsafeMutableBufferPointer { outBuffer in
            data.withUnsafeBufferPointer { uncompress(outBuffer.baseAddress, &length, $0.baseAddress, uLong($0.count)) }
        }
        guard status == Z_OK, length == uLong(rgb.count) else { return nil }
        return RFBFramebuffer.pixels(rgb: rgb)
    }
}
