/// Little-endian appends to a byte array, the only byte order the format uses.
extension Array where Element == UInt8 {
    @inlinable package mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        Swift.withUnsafeBytes(of: &v) { self.append(contentsOf: $0) }
    }

    /// Appends a UTF-8 string with a u16 length prefix, cut at a character boundary to `limit` bytes.
    mutating func appendShortString(_ string: String, limit: Int = Int(UInt16.max)) {
        let utf8 = utf8Prefix(string, limit: Swift.min(limit, Int(UInt16.max)))
        appendLE(UInt16(utf8.count))
        append(contentsOf: utf8)
    }

    /// Overwrites `value` at `offset` in little-endian order.
    @inlinable mutating func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        var v = value.littleEndian
        Swift.withUnsafeBytes(of: &v) { src in
            for i in 0..<src.count { self[offset + i] = src[i] }
        }
    }
}

/// A bounds-checked little-endian reader over a byte buffer. Every read fails softly (returns nil).
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int

    init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    @inline(__always) mutating func read<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        let value = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += size
        return T(littleEndian: value)
    }

    mutating func readBytes(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, remaining >= count else { return nil }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
        position += count
        return slice
    }

    mutating func readArray(_ count: Int) -> [UInt8]? {
        readBytes(count).map { [UInt8]($0) }
    }

    mutating func readShortString() -> String? {
        guard let length = read(UInt16.self), let raw = readBytes(Int(length)) else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }
}

@inline(__always) func loadLE<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ offset: Int, as: T.Type) -> T {
    T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
}

/// The UTF-8 bytes of `string`, cut at a character boundary so there are at most `limit`.
func utf8Prefix(_ string: String, limit: Int) -> [UInt8] {
    let utf8 = Array(string.utf8)
    guard utf8.count > limit else { return utf8 }
    var end = limit
    while end > 0 && (utf8[end] & 0xC0) == 0x80 { end -= 1 }
    return Array(utf8[..<end])
}
