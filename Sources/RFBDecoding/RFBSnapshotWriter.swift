/// Appends the big-endian fields of a serialized keyframe snapshot.
struct RFBSnapshotWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func u16(_ value: UInt16) {
        bytes += [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    mutating func u32(_ value: UInt32) {
        u16(UInt16(value >> 16))
        u16(UInt16(truncatingIfNeeded: value))
    }

    mutating func u64(_ value: UInt64) {
        u32(UInt32(value >> 32))
        u32(UInt32(truncatingIfNeeded: value))
    }

    /// A U32 length, then the bytes.
    mutating func data(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes += value
    }

    /// A presence byte (0 or 1), then the value if present.
    mutating func optional<T>(_ value: T?, _ write: (inout Self, T) -> Void) {
        bool(value != nil)
        if let value { write(&self, value) }
    }

    /// Overwrites 8 bytes at `index` with `value`.
    mutating func patch(u64 value: UInt64, at index: Int) {
        for i in 0..<8 { bytes[index + i] = UInt8(truncatingIfNeeded: value >> UInt64(56 - 8 * i)) }
    }
}
