import CPNG
import RFBDecoding

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Framebuffers to and from PNG (8-bit RGB, no alpha) through libpng's simplified API
/// (`png_image_write_to_memory`, `png_image_begin_read_from_memory`).
public enum PNGImage {
    /// The PNG bytes of `image`.
    public static func encode(_ image: RFBFramebuffer) throws(RenderError) -> [UInt8] {
        guard image.width > 0, image.height > 0 else {
            throw RenderError("cannot write an empty \(image.width)x\(image.height) image as PNG")
        }
        let rgb = rgbBytes(image)
        var header = pngHeader(width: image.width, height: image.height)
        var size: png_alloc_size_t = 0
        // First call: the size needed; second: the bytes.
        let sized = rgb.withUnsafeBytes { png_image_write_to_memory(&header, nil, &size, 0, $0.baseAddress, 0, nil) }
        guard sized != 0 else { throw RenderError("libpng: \(message(of: &header))") }
        var out = [UInt8](repeating: 0, count: Int(size))
        var encoded = pngHeader(width: image.width, height: image.height)
        let written = out.withUnsafeMutableBytes { memory in
            rgb.withUnsafeBytes { png_image_write_to_memory(&encoded, memory.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
        }
        guard written != 0 else { throw RenderError("libpng: \(message(of: &encoded))") }
        return Array(out.prefix(Int(size)))
    }

    /// Writes `image` as a PNG file: to a temporary file beside `path`, then renamed over it, so
    /// that `path` is never a half-written image; with the permission bits `mode`
    /// (``AtomicFile/mode(madeFrom:)`` for an image of a recording).
    public static func write(_ image: RFBFramebuffer, to path: String, mode: UInt32) throws(RenderError) {
        try AtomicFile.write(try encode(image), to: path, mode: mode)
    }

    /// The image in PNG `bytes` (any PNG libpng reads; converted to 8-bit RGB on a black background).
    public static func decode(_ bytes: [UInt8]) throws(RenderError) -> RFBFramebuffer {
        var header = png_image()
        header.version = png_uint_32(PNG_IMAGE_VERSION)
        let begun = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&header, $0.baseAddress, $0.count) }
        guard begun != 0 else { throw RenderError("not a readable PNG: \(message(of: &header))") }
        header.format = png_uint_32(PNG_FORMAT_RGB)
        let width = Int(header.width)
        let height = Int(header.height)
        guard width * height <= RFBDecoding.RFBFramebufferDecoder.maximumPixels else {
            png_image_free(&header)
            throw RenderError("a \(width)x\(height) PNG is larger than the images this tool reads")
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        let finished = rgb.withUnsafeMutableBytes { png_image_finish_read(&header, nil, $0.baseAddress, 0, nil) }
        guard finished != 0 else { throw RenderError("not a readable PNG: \(message(of: &header))") }
        var image = RFBFramebuffer(width: width, height: height)
        var pixels = [UInt32](repeating: 0, count: width * height)
        for i in 0..<pixels.count {
            pixels[i] = UInt32(rgb[3 * i]) << 16 | UInt32(rgb[3 * i + 1]) << 8 | UInt32(rgb[3 * i + 2])
        }
        image.put(x: 0, y: 0, width: width, height: height, pixels)
        return image
    }

    /// The pixels as R, G, B bytes, row by row (what rawvideo rgb24 and PNG_FORMAT_RGB take).
    public static func rgbBytes(_ image: RFBFramebuffer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: image.pixels.count * 3) { out, count in
            var at = 0
            for pixel in image.pixels {
                out[at] = UInt8(truncatingIfNeeded: pixel >> 16)
                out[at + 1] = UInt8(truncatingIfNeeded: pixel >> 8)
                out[at + 2] = UInt8(truncatingIfNeeded: pixel)
                at += 3
            }
            count = at
        }
    }

    private static func pngHeader(width: Int, height: Int) -> png_image {
        var header = png_image()
        header.version = png_uint_32(PNG_IMAGE_VERSION)
        header.width = png_uint_32(width)
        header.height = png_uint_32(height)
        header.format = png_uint_32(PNG_FORMAT_RGB)
        return header
    }

    /// libpng's message for a failed call (it frees its own state on failure).
    private static func message(of header: inout png_image) -> String {
        withUnsafeBytes(of: &header.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
