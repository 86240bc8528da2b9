/// Little-endian appends to a byte array, the only byte order the format uses.
extension Array where Element == UInt8 {
    @inlinable mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        Swift.withUnsafeBytes(of: &v) { self.append(contentsOf: $0) }
    }

    /// Appends a UTF-8 string with a u16 length prefix, cut at a character boundary below 65,536 bytes.
    mutating func appendShortString(_ string: String) {
        var utf8 = Array(string.utf8)
        if utf8.count > Int(UInt16.max) {
            var end = Int(UInt16.max)
            while end > 0 && (utf8[end] & 0xC0) == 0x80 { end -= 1 }
            utf8 = Array(utf8[..<end])
        }
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
