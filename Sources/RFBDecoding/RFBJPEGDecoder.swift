import CTurboJPEG

/// JPEG data (Tight's and TightPNG's JPEG rectangles) decoded to `0x00RRGGBB` pixels by
/// libjpeg-turbo's TurboJPEG API; one handle, made on first use, for a session.
final class RFBJPEGDecoder {
    private var handle: tjhandle?

    init() {}

    deinit {
        if let handle { tjDestroy(handle) }
    }

    struct Failure: Error {
        var message: String
    }

    /// The image's pixels, rows top to bottom; it must be `width` × `height`.
    func decode(_ data: UnsafeBufferPointer<UInt8>, width: Int, height: Int) throws(Failure) -> [UInt32] {
        if handle == nil { handle = tjInitDecompress() }
        guard let handle else { throw Failure(message: "TurboJPEG could not be set up") }
        guard let base = data.baseAddress, !data.isEmpty else { throw Failure(message: "empty JPEG data") }
        var imageWidth: Int32 = 0
        var imageHeight: Int32 = 0
        var subsampling: Int32 = 0
        var colourspace: Int32 = 0
        guard
            tjDecompressHeader3(
                handle, base, UInt(data.count), &imageWidth, &imageHeight, &subsampling, &colourspace) == 0
        else { throw Failure(message: "JPEG header: \(Self.error(handle))") }
        guard Int(imageWidth) == width, Int(imageHeight) == height else {
            throw Failure(message: "a \(imageWidth)x\(imageHeight) JPEG image in a \(width)x\(height) rectangle")
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        let status = rgb.withUnsafeMutableBufferPointer { out in
            tjDecompress2(
                handle, base, UInt(data.count), out.baseAddress, imageWidth, 0, imageHeight, Int32(TJPF_RGB.rawValue), 0)
        }
        // A warning (a truncated but usable image) is kept, as a browser would show it.
        guard status == 0 || tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) else {
            throw Failure(message: "JPEG data: \(Self.error(handle))")
        }
        return RFBFramebuffer.pixels(rgb: rgb)
    }

    private static func error(_ handle: tjhandle) -> String {
        tjGetErrorStr2(handle).map { String(cString: $0) } ?? "TurboJPEG failed"
    }
}
