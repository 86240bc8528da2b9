/// Reads a rectangle's encoded bytes front to back; running out is an error, never a trap.
struct RFBDataReader {
    struct Overrun: Error {
        var needed: Int
        var at: Int
    }

    let bytes: UnsafeBufferPointer<UInt8>
    private(set) var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var remaining: Int { bytes.count - index }

    /// Checks that `count` more bytes are there and returns where they start.
    @inline(__always)
    mutating func take(_ count: Int) throws(Overrun) -> Int {
        guard count >= 0, count <= remaining else { throw Overrun(needed: count, at: index) }
        defer { index += count }
        return index
    }

    mutating func u8() throws(Overrun) -> UInt8 {
        let i = try take(1)
        return bytes[i]
    }

    mutating func u16() throws(Overrun) -> UInt16 {
        let i = try take(2)
        return UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
    }

    mutating func u32() throws(Overrun) -> UInt32 {
        let i = try take(4)
        return UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
    }

    /// A Tight compact length: 1 to 3 bytes of 7, 7 and 8 bits, least significant first.
    mutating func compactLength() throws(Overrun) -> Int {
        let first = try u8()
        var value = Int(first & 0x7F)
        guard first & 0x80 != 0 else { return value }
        let second = try u8()
        value |= Int(second & 0x7F) << 7
        guard second & 0x80 != 0 else { return value }
        return value | Int(try u8()) << 14
    }

    /// A Tight TPIXEL as a colour: red, green and blue bytes, or a PIXEL.
    @inline(__always)
    mutating func tPixel(_ converter: RFBPixelConverter) throws(Overrun) -> UInt32 {
        guard converter.bytesPerTPixel == 3 else { return try colour(converter) }
        return try tPixelRGB()
    }

    /// Three bytes red, green, blue (an XCursor colour) as `0x00RRGGBB`.
    mutating func tPixelRGB() throws(Overrun) -> UInt32 {
        let i = try take(3)
        return UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
    }

    /// A PIXEL (or, with `compact`, a ZRLE CPIXEL) as a colour.
    @inline(__always)
    mutating func colour(_ converter: RFBPixelConverter, compact: Bool = false) throws(Overrun) -> UInt32 {
        let count = compact ? converter.bytesPerCPixel : converter.bytesPerPixel
        let i = try take(count)
        return converter.colour(converter.value(bytes, at: i, count: count))
    }
}
