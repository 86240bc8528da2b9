import CPNG
import CTurboJPEG
import RFB

/// A Tight compact length (1–3 bytes).
func compactLength(_ value: Int) -> [UInt8] {
    if value < 0x80 { return [UInt8(value)] }
    if value < 0x4000 { return [UInt8(value & 0x7F | 0x80), UInt8(value >> 7)] }
    return [UInt8(value & 0x7F | 0x80), UInt8(value >> 7 & 0x7F | 0x80), UInt8(value >> 14)]
}

/// A TPIXEL of `colour` at 32-bit depth 24: red, green, blue.
func tpx(_ colour: UInt32) -> [UInt8] { [UInt8(colour >> 16), UInt8(colour >> 8 & 0xFF), UInt8(colour & 0xFF)] }

/// Tight basic-compression data: as it is under 12 bytes, else a compact length and `deflater`'s output.
func tightData(_ data: [UInt8], _ deflater: SyncFlushDeflater) -> [UInt8] {
    guard data.count >= 12 else { return data }
    let compressed = deflater.compress(data)
    return compactLength(compressed.count) + compressed
}

/// The gradient filter's data for `pixels` (`0xRRGGBB`, 3 channels of 8 bits), row by row.
func gradientEncoded(_ pixels: [UInt32], width: Int) -> [UInt8] {
    func channel(_ i: Int, _ c: Int) -> Int { i < 0 ? 0 : Int(pixels[i] >> UInt32(16 - 8 * c) & 0xFF) }
    var out: [UInt8] = []
    for i in pixels.indices {
        let x = i % width
        let y = i / width
        for c in 0..<3 {
            let left = x > 0 ? channel(i - 1, c) : 0
            let above = y > 0 ? channel(i - width, c) : 0
            let upperLeft = x > 0 && y > 0 ? channel(i - width - 1, c) : 0
            let predicted = min(max(left + above - upperLeft, 0), 255)
            out.append(UInt8((channel(i, c) - predicted) & 0xFF))
        }
    }
    return out
}

/// `pixels` (`0xRRGGBB`) as a JPEG of quality 95, 4:4:4, by TurboJPEG.
func jpegEncoded(_ pixels: [UInt32], width: Int, height: Int) -> [UInt8] {
    let rgb = pixels.flatMap(tpx)
    let handle = tjInitCompress()
    defer { tjDestroy(handle) }
    var output: UnsafeMutablePointer<UInt8>?
    var size: UInt = 0
    let status = tjCompress2(
        handle, rgb, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue), &output, &size,
        Int32(TJSAMP_444.rawValue), 95, 0)
    precondition(status == 0, "tjCompress2 failed")
    defer { tjFree(output) }
    return Array(UnsafeBufferPointer(start: output, count: Int(size)))
}

/// RGBA bytes as a PNG, by libpng's simplified API.
func pngEncoded(rgba: [UInt8], width: Int, height: Int) -> [UInt8] {
    var image = png_image()
    image.version = png_uint_32(PNG_IMAGE_VERSION)
    image.width = png_uint_32(width)
    image.height = png_uint_32(height)
    image.format = png_uint_32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
    var size = 0
    precondition(png_image_write_to_memory(&image, nil, &size, 0, rgba, 0, nil) != 0, "PNG size")
    var out = [UInt8](repeating: 0, count: size)
    precondition(png_image_write_to_memory(&image, &out, &size, 0, rgba, 0, nil) != 0, "PNG write")
    return Array(out[0..<size])
}
