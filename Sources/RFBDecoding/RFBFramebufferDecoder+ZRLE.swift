/// ZRLE (RFC 6143 §7.7.6): a U32 length and zlib data continuing the session's one stream; inside,
/// 64×64 tiles, each raw, solid, packed palette, plain RLE or palette RLE, in CPIXELs.
extension RFBFramebufferDecoder {
    /// With `draw` false the data is only inflated (the stream goes on through every rectangle).
    func zrle(
        _ reader: inout RFBDataReader, at offset: UInt64, width: Int, height: Int, _ converter: RFBPixelConverter,
        draw: Bool
    ) throws -> [UInt32] {
        // At most: each 64x64 tile's kind byte and a 127-colour palette, then 5 bytes a pixel
        // (plain RLE of 4-byte CPIXELs and one run byte).
        let tiles = (width + 63) / 64 * ((height + 63) / 64)
        let limit = tiles * (1 + 127 * converter.bytesPerCPixel) + width * height * 5
        guard let inflated = try inflateLengthPrefixed(&reader, zrleStream, "ZRLE", at: offset, limit: limit, draw: draw)
        else { return [] }
        return try inflated.withUnsafeBufferPointer { bytes in
            var tiles = RFBDataReader(bytes)
            do {
                return try Self.zrleTiles(&tiles, width: width, height: height, converter)
            } catch let overrun as RFBDataReader.Overrun {
                throw DecodeFailure(
                    message: "its inflated data ends early: \(overrun.needed) bytes wanted at byte \(overrun.at) "
                        + "of \(bytes.count)")
            }
        }
    }

    /// Zlib (encoding 6, rfbproto): a U32 length and zlib data continuing the session's stream,
    /// which inflates to the rectangle's pixels as Raw sends them.
    func zlib(
        _ reader: inout RFBDataReader, at offset: UInt64, width: Int, height: Int, _ converter: RFBPixelConverter,
        draw: Bool
    ) throws -> [UInt32] {
        // (What does not fit is reported below; the limit only keeps a zip bomb out of memory.)
        guard
            let inflated = try inflateLengthPrefixed(
                &reader, zlibStream, "Zlib", at: offset, limit: width * height * converter.bytesPerPixel + 1 << 16,
                draw: draw)
        else { return [] }
        guard inflated.count == width * height * converter.bytesPerPixel else {
            throw DecodeFailure(
                message: "its data inflates to \(inflated.count) bytes, \(width)x\(height) pixels are "
                    + "\(width * height * converter.bytesPerPixel)")
        }
        return try inflated.withUnsafeBufferPointer { bytes in
            var pixels = RFBDataReader(bytes)
            return try Self.raw(&pixels, width: width, height: height, converter)
        }
    }

    /// A U32 length and that much zlib data of `stream`, inflated, or with `draw` false inflated
    /// and thrown away a chunk at a time (nil): a rectangle outside the screen may say it is
    /// 65535x65535, and its output must not be held. A stream that breaks reports its later
    /// rectangles as not decoded.
    private func inflateLengthPrefixed(
        _ reader: inout RFBDataReader, _ stream: RFBInflater, _ name: String, at offset: UInt64, limit: Int,
        draw: Bool
    ) throws -> [UInt8]? {
        if let brokenAt = stream.brokenAt {
            throw DecodeFailure(
                kind: .notDecoded, message: "the session's \(name) zlib stream broke at server offset \(brokenAt)")
        }
        let length = Int(try reader.u32())
        let start = try reader.take(length)
        let data = UnsafeBufferPointer(rebasing: reader.bytes[start..<start + length])
        do {
            guard draw else {
                _ = try stream.discard(data, limit: limit)
                return nil
            }
            return try stream.inflate(data, limit: limit)
        } catch {
            stream.brokenAt = offset
            throw DecodeFailure(message: error.message)
        }
    }

    /// The tiles of ZRLE (64×64, inflated) or, with `trle`, of TRLE (RFC 6143 §7.7.5: 16×16, not
    /// compressed, and two more kinds that reuse the previous tile's palette: 127 packed, 129 RLE).
    static func zrleTiles(
        _ reader: inout RFBDataReader, width: Int, height: Int, _ converter: RFBPixelConverter, trle: Bool = false
    ) throws -> [UInt32] {
        let size = trle ? 16 : 64
        var pixels = [UInt32](repeating: 0, count: width * height)
        var palette = [UInt32](repeating: 0, count: 128)
        /// Colours of the last palette tile (TRLE reuses it).
        var paletteSize = 0
        for tileY in stride(from: 0, to: height, by: size) {
            for tileX in stride(from: 0, to: width, by: size) {
                let tileWidth = min(size, width - tileX)
                let tileHeight = min(size, height - tileY)
                var kind = try reader.u8()
                if trle, kind == 127 || kind == 129 {
                    guard paletteSize > 0 else {
                        throw DecodeFailure(message: "tile kind \(kind) at (\(tileX),\(tileY)) reuses a palette never sent")
                    }
                    kind = kind == 127 ? UInt8(paletteSize) : UInt8(128 + paletteSize)
                } else if kind >= 2 && kind <= 16 {
                    paletteSize = Int(kind)
                    for i in 0..<paletteSize { palette[i] = try reader.colour(converter, compact: true) }
                } else if kind >= 130 {
                    paletteSize = Int(kind) - 128
                    for i in 0..<paletteSize { palette[i] = try reader.colour(converter, compact: true) }
                }
                /// Pixel `i` of the tile, row by row.
                func put(_ i: Int, _ colour: UInt32) {
                    pixels[(tileY + i / tileWidth) * width + tileX + i % tileWidth] = colour
                }
                switch kind {
                case 0:
                    for i in 0..<tileWidth * tileHeight { put(i, try reader.colour(converter, compact: true)) }
                case 1:
                    let colour = try reader.colour(converter, compact: true)
                    fill(&pixels, stride: width, x: tileX, y: tileY, width: tileWidth, height: tileHeight, colour)
                case 2...16:
                    let bits = kind == 2 ? 1 : kind <= 4 ? 2 : 4
                    let mask = UInt8(1 << bits - 1)
                    for row in 0..<tileHeight {
                        var byte: UInt8 = 0
                        var left = 0
                        for column in 0..<tileWidth {
                            if left == 0 {
                                byte = try reader.u8()
                                left = 8
                            }
                            left -= bits
                            let index = Int(byte >> UInt8(left) & mask)
                            guard index < Int(kind) else {
                                throw DecodeFailure(message: "palette index \(index) of a \(kind)-colour tile")
                            }
                            put(row * tileWidth + column, palette[index])
                        }
                    }
                case 128, 130...255:
                    let paletteSize = kind == 128 ? 0 : Int(kind) - 128
                    var i = 0
                    let area = tileWidth * tileHeight
                    while i < area {
                        let colour: UInt32
                        var run = 1
                        if paletteSize == 0 {
                            colour = try reader.colour(converter, compact: true)
                            run = try runLength(&reader)
                        } else {
                            let index = try reader.u8()
                            guard Int(index & 127) < paletteSize else {
                                throw DecodeFailure(message: "palette index \(index & 127) of a \(paletteSize)-colour tile")
                            }
                            colour = palette[Int(index & 127)]
                            if index & 128 != 0 { run = try runLength(&reader) }
                        }
                        guard run <= area - i else {
                            throw DecodeFailure(
                                message: "a run of \(run) pixels overflows the \(tileWidth)x\(tileHeight) tile at "
                                    + "(\(tileX),\(tileY))")
                        }
                        for j in i..<i + run { put(j, colour) }
                        i += run
                    }
                default:
                    throw DecodeFailure(message: "tile subencoding \(kind) at (\(tileX),\(tileY)) is not defined")
                }
            }
        }
        return pixels
    }

    /// A run length: bytes summed while they are 255, plus one.
    private static func runLength(_ reader: inout RFBDataReader) throws(RFBDataReader.Overrun) -> Int {
        var run = 1
        while true {
            let byte = try reader.u8()
            run += Int(byte)
            if byte != 255 { return run }
        }
    }
}
