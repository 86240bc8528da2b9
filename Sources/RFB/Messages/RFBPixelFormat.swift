/// PIXEL_FORMAT (RFC 6143 §7.4): how pixel values are laid out on the wire.
public struct RFBPixelFormat: Sendable, Hashable, CustomStringConvertible {
    public var bitsPerPixel: UInt8
    public var depth: UInt8
    public var bigEndian: Bool
    public var trueColour: Bool
    public var redMax: UInt16
    public var greenMax: UInt16
    public var blueMax: UInt16
    public var redShift: UInt8
    public var greenShift: UInt8
    public var blueShift: UInt8

    public init(
        bitsPerPixel: UInt8, depth: UInt8, bigEndian: Bool, trueColour: Bool, redMax: UInt16, greenMax: UInt16,
        blueMax: UInt16, redShift: UInt8, greenShift: UInt8, blueShift: UInt8
    ) {
        self.bitsPerPixel = bitsPerPixel
        self.depth = depth
        self.bigEndian = bigEndian
        self.trueColour = trueColour
        self.redMax = redMax
        self.greenMax = greenMax
        self.blueMax = blueMax
        self.redShift = redShift
        self.greenShift = greenShift
        self.blueShift = blueShift
    }

    /// Reads the 16 wire bytes (the last three are padding).
    public init(_ bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        precondition(b.count >= 13, "a pixel format is 16 bytes")
        self.init(
            bitsPerPixel: b[0], depth: b[1], bigEndian: b[2] != 0, trueColour: b[3] != 0,
            redMax: UInt16(b[4]) << 8 | UInt16(b[5]), greenMax: UInt16(b[6]) << 8 | UInt16(b[7]),
            blueMax: UInt16(b[8]) << 8 | UInt16(b[9]), redShift: b[10], greenShift: b[11], blueShift: b[12])
    }

    /// The 16 wire bytes, padding zeroed.
    public var bytes: [UInt8] {
        [
            bitsPerPixel, depth, bigEndian ? 1 : 0, trueColour ? 1 : 0, UInt8(redMax >> 8), UInt8(redMax & 0xFF),
            UInt8(greenMax >> 8), UInt8(greenMax & 0xFF), UInt8(blueMax >> 8), UInt8(blueMax & 0xFF), redShift,
            greenShift, blueShift, 0, 0, 0,
        ]
    }

    /// Bytes of a PIXEL; nil unless bits-per-pixel is 8, 16 or 32 (the only values RFB allows).
    public var bytesPerPixel: Int? {
        switch bitsPerPixel {
        case 8: 1
        case 16: 2
        case 32: 4
        default: nil
        }
    }

    /// The colour bits a true-colour pixel uses, as a mask over the pixel value.
    private var colourMask: UInt64 {
        UInt64(redMax) << UInt64(redShift) | UInt64(greenMax) << UInt64(greenShift)
            | UInt64(blueMax) << UInt64(blueShift)
    }

    /// Bytes of a ZRLE/TRLE CPIXEL (§7.7.6): 3 for 32-bit true colour of depth ≤ 24 whose colour
    /// bits fit the low or the high three bytes, else a PIXEL.
    public var bytesPerCPixel: Int? {
        guard let pixel = bytesPerPixel else { return nil }
        if trueColour, bitsPerPixel == 32, depth <= 24, colourMask < 1 << 24 || colourMask & 0xFF == 0 { return 3 }
        return pixel
    }

    /// Bytes of a Tight TPIXEL (rfbproto, Tight encoding): 3 for 32-bit true colour of depth 24
    /// with 8-bit channels, else a PIXEL.
    public var bytesPerTPixel: Int? {
        guard let pixel = bytesPerPixel else { return nil }
        if trueColour, bitsPerPixel == 32, depth == 24, redMax == 255, greenMax == 255, blueMax == 255 { return 3 }
        return pixel
    }

    /// `32bpp depth 24 little-endian true-colour R255<<16 G255<<8 B255<<0`, or `8bpp depth 8 colour-map`.
    public var description: String {
        var text = "\(bitsPerPixel)bpp depth \(depth)"
        if bitsPerPixel > 8 { text += bigEndian ? " big-endian" : " little-endian" }
        guard trueColour else { return text + " colour-map" }
        return text + " true-colour R\(redMax)<<\(redShift) G\(greenMax)<<\(greenShift) B\(blueMax)<<\(blueShift)"
    }
}
