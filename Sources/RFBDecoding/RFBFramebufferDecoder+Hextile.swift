/// Hextile (RFC 6143 §7.7.4): 16×16 tiles, each raw or a background with subrectangles; the
/// background and foreground carry over from tile to tile when a tile does not send them.
extension RFBFramebufferDecoder {
    private static let rawTile: UInt8 = 1
    private static let backgroundSpecified: UInt8 = 2
    private static let foregroundSpecified: UInt8 = 4
    private static let anySubrects: UInt8 = 8
    private static let subrectsColoured: UInt8 = 16

    static func hextile(_ reader: inout RFBDataReader, width: Int, height: Int, _ converter: RFBPixelConverter)
        throws -> [UInt32]
    {
        var pixels = [UInt32](repeating: 0, count: width * height)
        var background: UInt32 = 0
        var foreground: UInt32 = 0
        for tileY in stride(from: 0, to: height, by: 16) {
            for tileX in stride(from: 0, to: width, by: 16) {
                let tileWidth = min(16, width - tileX)
                let tileHeight = min(16, height - tileY)
                let flags = try reader.u8()
                if flags & rawTile != 0 {
                    for row in tileY..<tileY + tileHeight {
                        for column in tileX..<tileX + tileWidth {
                            pixels[row * width + column] = try reader.colour(converter)
                        }
                    }
                    continue
                }
                if flags & backgroundSpecified != 0 { background = try reader.colour(converter) }
                if flags & foregroundSpecified != 0 { foreground = try reader.colour(converter) }
                fill(&pixels, stride: width, x: tileX, y: tileY, width: tileWidth, height: tileHeight, background)
                guard flags & anySubrects != 0 else { continue }
                let count = Int(try reader.u8())
                for index in 0..<count {
                    var colour = foreground
                    if flags & subrectsColoured != 0 { colour = try reader.colour(converter) }
                    let position = try reader.u8()
                    let size = try reader.u8()
                    let x = Int(position >> 4)
                    let y = Int(position & 15)
                    let w = Int(size >> 4) + 1
                    let h = Int(size & 15) + 1
                    guard x + w <= tileWidth, y + h <= tileHeight else {
                        throw DecodeFailure(
                            message: "subrectangle \(index) (\(w)x\(h) at \(x),\(y)) of the tile at (\(tileX),\(tileY)) "
                                + "lies outside its \(tileWidth)x\(tileHeight)")
                    }
                    fill(&pixels, stride: width, x: tileX + x, y: tileY + y, width: w, height: h, colour)
                }
            }
        }
        return pixels
    }
}
