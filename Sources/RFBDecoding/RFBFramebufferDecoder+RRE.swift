/// RRE (RFC 6143 §7.7.3) and CoRRE (rfbproto): a background, then solid subrectangles.
extension RFBFramebufferDecoder {
    /// `compact`: CoRRE, whose subrectangle geometry is four U8 instead of four U16.
    static func rre(
        _ reader: inout RFBDataReader, width: Int, height: Int, _ converter: RFBPixelConverter, compact: Bool
    ) throws -> [UInt32] {
        let count = Int(try reader.u32())
        let background = try reader.colour(converter)
        var pixels = [UInt32](repeating: background, count: width * height)
        for index in 0..<count {
            let colour = try reader.colour(converter)
            var geometry = [0, 0, 0, 0]
            for i in 0..<4 {
                if compact { geometry[i] = Int(try reader.u8()) } else { geometry[i] = Int(try reader.u16()) }
            }
            let (x, y, w, h) = (geometry[0], geometry[1], geometry[2], geometry[3])
            guard x + w <= width, y + h <= height else {
                throw DecodeFailure(
                    message: "subrectangle \(index) (\(w)x\(h) at \(x),\(y)) lies outside the \(width)x\(height) rectangle")
            }
            fill(&pixels, stride: width, x: x, y: y, width: w, height: h, colour)
        }
        return pixels
    }

    /// Fills a `w` × `h` block at (x, y) of a rectangle `stride` pixels wide.
    @inline(__always)
    static func fill(_ pixels: inout [UInt32], stride: Int, x: Int, y: Int, width w: Int, height h: Int, _ colour: UInt32) {
        for row in y..<y + h {
            for column in row * stride + x..<row * stride + x + w { pixels[column] = colour }
        }
    }
}
