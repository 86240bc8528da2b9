import CPNG

/// PNG data (TightPNG's PNG rectangles) decoded by libpng's simplified API.
enum RFBPNGDecoder {
    struct Failure: Error {
        var message: String
    }

    /// The image as RGBA bytes, rows top to bottom; it must be `width` × `height`.
    static func decode(_ data: UnsafeBufferPointer<UInt8>, width: Int, height: Int) throws(Failure) -> [UInt8] {
        guard let base = data.baseAddress, !data.isEmpty else { throw Failure(message: "empty PNG data") }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_memory(&image, base, data.count) != 0 else {
            throw Failure(message: "PNG header: \(message(of: &image))")
        }
        defer { png_image_free(&image) }
        guard Int(image.width) == width, Int(image.height) == height else {
            throw Failure(message: "a \(image.width)x\(image.height) PNG image in a \(width)x\(height) rectangle")
        }
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)  // PNG_FORMAT_RGBA
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        let finished = rgba.withUnsafeMutableBytes { out in
            png_image_finish_read(&image, nil, out.baseAddress, 0, nil)
        }
        guard finished != 0 else { throw Failure(message: "PNG data: \(message(of: &image))") }
        return rgba
    }

    /// libpng's message in `image.message` (a fixed-size C string).
    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
