/// ZRLE (RFC 6143 §7.7.6): a U32 length and zlib data continuing the session's one stream; inside,
/// 64×64 tiles, each raw, solid, packed palette, plain RLE or palette RLE, in CPIXELs.
extension RFBFramebufferDecoder {
    /// With `draw` false the data is only inflated (the stream goes on through every rectangle).
    func zrle(
        _ reader: inout RFBDataReader, at offset: UInt64, width: Int, height: Int, _ converter: RFBPixelConverter,
        draw: Bool
    ) throws -> [UInt32] {
        if let brokenAt = zrleStream.brokenAt {
            throw DecodeFailure(
                kind: .notDecoded, message: "the session's ZRLE zlib stream broke at server offset \(brokenAt)")
        }
        let length = Int(try reader.u32())
        let start = try reader.take(length)
        let inflated: [UInt8]
        do {
            inflated = try zrleStream.inflate(UnsafeBufferPointer(rebasing: reader.bytes[start..<start + length]))
        } catch {
            zrleStream.brokenAt = offset
            throw DecodeFailure(message: error.message)
        }
        guard draw else { return [] }
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

    static func zrleTiles(_ reader: inout RFBDataReader, width: Int, height: Int, _ converter: RFBPixelConverter)
        throws -> [UInt32]
    {
        var pixels = [UInt32](repeating: 0, count: width * height)
        var palette = [UInt32](repeating: 0, count: 128)
        for tileY in stride(from: 0, to: height, by: 64) {
            for tileX in stride(from: 0, to: width, by: 64) {
                let tileWidth = min(64, width - tileX)
                let tileHeight = min(64, height - tileY)
                let kind = try reader.u8()
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
                    for i in 0..<Int(kind) { palette[i] = try reader.colour(converter, compact: true) }
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
                    for i in 0..<paletteSize { palette[i] = try reader.colour(converter, compact: true) }
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
