import RFB

/// Turns the pixel values of one pixel format (RFC 6143 §7.4) into `0x00RRGGBB`: true colour of
/// 8, 16 or 32 bits per pixel with any maxima and shifts in either byte order (each channel
/// scaled to 0–255, rounded), or an index into the colour map SetColourMapEntries filled
/// (each 16-bit colour keeps its high byte; entries never set are black).
public struct RFBPixelConverter: Sendable {
    public let format: RFBPixelFormat
    /// Bytes of a PIXEL and of a ZRLE CPIXEL.
    public let bytesPerPixel: Int
    public let bytesPerCPixel: Int
    /// Bytes of a Tight TPIXEL: 3 (red, green, blue) for 32-bit true colour of depth 24 with
    /// 8-bit channels, else a PIXEL.
    public let bytesPerTPixel: Int
    /// A 3-byte CPIXEL leaves out the pixel's most significant byte (colours in the low three
    /// bytes) or its least significant one.
    private let cPixelDropsHighByte: Bool
    private let red: [UInt32]
    private let green: [UInt32]
    private let blue: [UInt32]
    /// Colour map entries (`0x00RRGGBB`) for a format that is not true colour.
    public private(set) var colourMap: [UInt32]

    /// Nil when the format's bits per pixel is not 8, 16 or 32.
    public init?(_ format: RFBPixelFormat) {
        guard let pixel = format.bytesPerPixel, let cPixel = format.bytesPerCPixel else { return nil }
        self.format = format
        bytesPerPixel = pixel
        bytesPerCPixel = cPixel
        bytesPerTPixel = format.bytesPerTPixel ?? pixel
        let mask =
            UInt64(format.redMax) << UInt64(format.redShift) | UInt64(format.greenMax) << UInt64(format.greenShift)
            | UInt64(format.blueMax) << UInt64(format.blueShift)
        cPixelDropsHighByte = mask < 1 << 24
        red = Self.scale(format.redMax)
        green = Self.scale(format.greenMax)
        blue = Self.scale(format.blueMax)
        colourMap = format.trueColour ? [] : Array(repeating: 0, count: 1 << min(Int(format.bitsPerPixel), 16))
    }

    /// 0…max onto 0…255, rounded to the nearest.
    private static func scale(_ max: UInt16) -> [UInt32] {
        guard max > 0 else { return [0] }
        let m = UInt32(max)
        return (0...m).map { ($0 * 255 + m / 2) / m }
    }

    /// The colour of a pixel value.
    @inline(__always)
    public func colour(_ value: UInt32) -> UInt32 {
        guard format.trueColour else {
            return Int(value) < colourMap.count ? colourMap[Int(value)] : 0
        }
        let r = red[Int(value >> UInt32(format.redShift) & UInt32(format.redMax))]
        let g = green[Int(value >> UInt32(format.greenShift) & UInt32(format.greenMax))]
        let b = blue[Int(value >> UInt32(format.blueShift) & UInt32(format.blueMax))]
        return r << 16 | g << 8 | b
    }

    /// The value of the PIXEL (`count` = ``bytesPerPixel``) or CPIXEL (``bytesPerCPixel``) at `index`.
    @inline(__always)
    func value(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, count: Int) -> UInt32 {
        switch count {
        case 1:
            return UInt32(bytes[index])
        case 2:
            let a = UInt32(bytes[index])
            let b = UInt32(bytes[index + 1])
            return format.bigEndian ? a << 8 | b : b << 8 | a
        case 3:
            let a = UInt32(bytes[index])
            let b = UInt32(bytes[index + 1])
            let c = UInt32(bytes[index + 2])
            let low = format.bigEndian ? a << 16 | b << 8 | c : c << 16 | b << 8 | a
            return cPixelDropsHighByte ? low : low << 8
        default:
            let a = UInt32(bytes[index])
            let b = UInt32(bytes[index + 1])
            let c = UInt32(bytes[index + 2])
            let d = UInt32(bytes[index + 3])
            return format.bigEndian ? a << 24 | b << 16 | c << 8 | d : d << 24 | c << 16 | b << 8 | a
        }
    }

    /// Sets colour map entries from SetColourMapEntries' 16-bit channels; entries past the map's
    /// size are ignored. Returns whether the format uses a colour map at all.
    @discardableResult
    public mutating func setColours(first: Int, _ colours: [(red: UInt16, green: UInt16, blue: UInt16)]) -> Bool {
        guard !format.trueColour else { return false }
        for (i, colour) in colours.enumerated() where first + i < colourMap.count {
            colourMap[first + i] =
                UInt32(colour.red >> 8) << 16 | UInt32(colour.green >> 8) << 8 | UInt32(colour.blue >> 8)
        }
        return true
    }

    /// Replaces the whole colour map (a keyframe's); false unless it has the map's size.
    mutating func restoreColourMap(_ map: [UInt32]) -> Bool {
        guard map.count == colourMap.count else { return false }
        colourMap = map
        return true
    }

    /// Keeps the colour map of `other` (a SetPixelFormat does not clear the map).
    mutating func keepColourMap(of other: RFBPixelConverter) {
        guard !format.trueColour, !other.colourMap.isEmpty else { return }
        for i in 0..<min(colourMap.count, other.colourMap.count) { colourMap[i] = other.colourMap[i] }
    }
}
