import RFB

/// Tight (encoding 7) and TightPNG (-260), as the rfbproto specification describes them: a
/// compression-control byte whose low four bits reset zlib streams 0–3, then fill (one TPIXEL),
/// JPEG, PNG (TightPNG), or basic compression: an optional filter (copy, palette of 2–256
/// colours, gradient) and pixel data, sent as it is under 12 bytes and otherwise as zlib data
/// continuing one of the session's four streams.
extension RFBFramebufferDecoder {
    private static let fillMethod: UInt8 = 8
    private static let jpegMethod: UInt8 = 9
    private static let pngMethod: UInt8 = 10

    /// With `draw` false only the zlib streams are kept in step (the result is empty).
    func tight(
        _ reader: inout RFBDataReader, _ rectangle: RFBRectangle, _ converter: RFBPixelConverter, draw: Bool
    ) throws -> [UInt32] {
        let width = Int(rectangle.width)
        let height = Int(rectangle.height)
        let offset = rectangle.offset
        let control = try reader.u8()
        for stream in 0..<4 where control & (1 << stream) != 0 { tightStreams[stream].reset() }
        let method = control >> 4
        switch method {
        case Self.fillMethod:
            let colour = try reader.tPixel(converter)
            return draw ? Array(repeating: colour, count: width * height) : []
        case Self.jpegMethod:
            let data = try compressedData(&reader)
            guard draw else { return [] }
            do {
                return try jpeg.decode(data, width: width, height: height)
            } catch {
                throw DecodeFailure(message: error.message)
            }
        case Self.pngMethod where rectangle.encoding == .tightPNG:
            let data = try compressedData(&reader)
            guard draw else { return [] }
            do {
                let rgba = try RFBPNGDecoder.decode(data, width: width, height: height)
                return composited(rgba, x: Int(rectangle.x), y: Int(rectangle.y), width: width, height: height)
            } catch {
                throw DecodeFailure(message: error.message)
            }
        case let method where method & 8 != 0:
            throw DecodeFailure(message: "compression control 0x\(String(control, radix: 16)) is not defined")
        case let method where rectangle.encoding == .tightPNG:
            // TightPNG has fill, JPEG and PNG only (as noVNC, which refuses the rest); the data is
            // not inflated, so the stream it names is out of step from here on.
            tightStreams[Int(method & 3)].brokenAt = offset
            throw DecodeFailure(
                message: "TightPNG allows fill, JPEG and PNG only, not basic compression (control "
                    + "0x\(String(control, radix: 16)))")
        default:
            return try basic(&reader, at: offset, method: method, width: width, height: height, converter, draw: draw)
        }
    }

    /// A compact length and that many bytes.
    private func compressedData(_ reader: inout RFBDataReader) throws -> UnsafeBufferPointer<UInt8> {
        let length = try reader.compactLength()
        let start = try reader.take(length)
        return UnsafeBufferPointer(rebasing: reader.bytes[start..<start + length])
    }

    /// Basic compression: bits 4–5 of the control byte name the stream, bit 6 a filter byte.
    private func basic(
        _ reader: inout RFBDataReader, at offset: UInt64, method: UInt8, width: Int, height: Int,
        _ converter: RFBPixelConverter, draw: Bool
    ) throws -> [UInt32] {
        let streamIndex = Int(method & 3)
        let filter = method & 4 != 0 ? try reader.u8() : 0
        var palette: [UInt32] = []
        let dataSize: Int
        switch filter {
        case 0, 2:
            dataSize = width * height * converter.bytesPerTPixel
        case 1:
            let count = Int(try reader.u8()) + 1
            for _ in 0..<count { palette.append(try reader.tPixel(converter)) }
            dataSize = count <= 2 ? (width + 7) / 8 * height : width * height
        default:
            throw DecodeFailure(message: "filter \(filter) is not defined")
        }
        var data: [UInt8] = []
        if dataSize < 12 {
            let start = try reader.take(dataSize)
            data = Array(reader.bytes[start..<start + dataSize])
        } else {
            let stream = tightStreams[streamIndex]
            if let brokenAt = stream.brokenAt {
                _ = try compressedData(&reader)
                throw DecodeFailure(
                    kind: .notDecoded, message: "Tight zlib stream \(streamIndex) broke at server offset \(brokenAt)")
            }
            let inflatedCount: Int
            do {
                // A rectangle not drawn may say it is 65535x65535: its output is thrown away as
                // it comes, never held.
                let compressed = try compressedData(&reader)
                if draw {
                    data = try stream.inflate(compressed, limit: dataSize + 1 << 16)
                    inflatedCount = data.count
                } else {
                    inflatedCount = try stream.discard(compressed, limit: dataSize + 1 << 16)
                }
            } catch let failure as RFBInflater.Failure {
                stream.brokenAt = offset
                throw DecodeFailure(message: "zlib stream \(streamIndex): \(failure.message)")
            }
            guard inflatedCount == dataSize else {
                throw DecodeFailure(
                    message: "zlib stream \(streamIndex) gave \(inflatedCount) bytes, the filter needs \(dataSize)")
            }
        }
        guard draw else { return [] }
        return try data.withUnsafeBufferPointer { bytes in
            var pixels = RFBDataReader(bytes)
            switch filter {
            case 1: return try Self.paletteFilter(&pixels, palette, width: width, height: height)
            case 2: return try Self.gradientFilter(&pixels, width: width, height: height, converter)
            default:
                var out = [UInt32]()
                out.reserveCapacity(width * height)
                for _ in 0..<width * height { out.append(try pixels.tPixel(converter)) }
                return out
            }
        }
    }

    /// Palette filter: 1 bit a pixel (rows padded to a byte) for up to two colours, else a byte.
    private static func paletteFilter(_ reader: inout RFBDataReader, _ palette: [UInt32], width: Int, height: Int)
        throws -> [UInt32]
    {
        var pixels = [UInt32]()
        pixels.reserveCapacity(width * height)
        if palette.count <= 2 {
            for _ in 0..<height {
                var byte: UInt8 = 0
                for column in 0..<width {
                    if column % 8 == 0 { byte = try reader.u8() }
                    let index = Int(byte >> UInt8(7 - column % 8) & 1)
                    guard index < palette.count else { throw DecodeFailure(message: "palette index 1 of 1 colour") }
                    pixels.append(palette[index])
                }
            }
            return pixels
        }
        for _ in 0..<width * height {
            let index = Int(try reader.u8())
            guard index < palette.count else {
                throw DecodeFailure(message: "palette index \(index) of \(palette.count) colours")
            }
            pixels.append(palette[index])
        }
        return pixels
    }

    /// Gradient filter: each channel is sent as its difference from left + above − above-left
    /// (clamped to the channel's range), modulo the range; outside the rectangle counts as 0.
    private static func gradientFilter(
        _ reader: inout RFBDataReader, width: Int, height: Int, _ converter: RFBPixelConverter
    ) throws -> [UInt32] {
        let format = converter.format
        let rgb = converter.bytesPerTPixel == 3
        let maxima = rgb ? [255, 255, 255] : [Int(format.redMax), Int(format.greenMax), Int(format.blueMax)]
        let shifts = rgb ? [16, 8, 0] : [Int(format.redShift), Int(format.greenShift), Int(format.blueShift)]
        var above = [Int](repeating: 0, count: width * 3)
        var row = [Int](repeating: 0, count: width * 3)
        var pixels = [UInt32]()
        pixels.reserveCapacity(width * height)
        for _ in 0..<height {
            for x in 0..<width {
                let value: UInt32
                if rgb {
                    let i = try reader.take(3)
                    value = UInt32(reader.bytes[i]) << 16 | UInt32(reader.bytes[i + 1]) << 8 | UInt32(reader.bytes[i + 2])
                } else {
                    let i = try reader.take(converter.bytesPerPixel)
                    value = converter.value(reader.bytes, at: i, count: converter.bytesPerPixel)
                }
                var out: UInt32 = 0
                for c in 0..<3 {
                    let left = x > 0 ? row[(x - 1) * 3 + c] : 0
                    let upperLeft = x > 0 ? above[(x - 1) * 3 + c] : 0
                    let predicted = min(max(left + above[x * 3 + c] - upperLeft, 0), maxima[c])
                    let channel = (predicted + Int(value >> UInt32(shifts[c])) & maxima[c]) & maxima[c]
                    row[x * 3 + c] = channel
                    out |= UInt32(channel) << UInt32(shifts[c])
                }
                pixels.append(rgb ? out : converter.colour(out))
            }
            swap(&above, &row)
        }
        return pixels
    }

    /// RGBA pixels drawn over what the framebuffer shows there (as a browser draws a PNG).
    private func composited(_ rgba: [UInt8], x: Int, y: Int, width: Int, height: Int) -> [UInt32] {
        var pixels = [UInt32]()
        pixels.reserveCapacity(width * height)
        for i in 0..<width * height {
            let alpha = UInt32(rgba[4 * i + 3])
            var colour = UInt32(rgba[4 * i]) << 16 | UInt32(rgba[4 * i + 1]) << 8 | UInt32(rgba[4 * i + 2])
            if alpha < 255 {
                let under = framebuffer?[x + i % width, y + i / width] ?? 0
                colour = Self.blend(colour, over: under, alpha: alpha)
            }
            pixels.append(colour)
        }
        return pixels
    }

    /// `colour` at `alpha` (0–255) over `under`, per channel, rounded.
    static func blend(_ colour: UInt32, over under: UInt32, alpha: UInt32) -> UInt32 {
        var out: UInt32 = 0
        for shift in [UInt32(16), 8, 0] {
            let top = colour >> shift & 0xFF
            let bottom = under >> shift & 0xFF
            out |= ((top * alpha + bottom * (255 - alpha) + 127) / 255) << shift
        }
        return out
    }
}
