/// Reads the fields ``RFBSnapshotWriter`` wrote; anything missing or out of range is an
/// ``RFBSnapshotFormatError`` naming the byte, never a trap.
struct RFBSnapshotReader {
    let bytes: [UInt8]
    /// The first byte not to read (the trailing checksum).
    let end: Int
    private(set) var index: Int

    init(_ bytes: [UInt8], from index: Int, end: Int) {
        self.bytes = bytes
        self.index = index
        self.end = end
    }

    func failure(_ message: String, at offset: Int? = nil) -> RFBSnapshotFormatError {
        RFBSnapshotFormatError(offset: offset ?? index, message: message)
    }

    /// Checks that `count` more bytes are there, names what is missing otherwise.
    mutating func take(_ count: Int, _ what: String) throws(RFBSnapshotFormatError) -> Int {
        guard count >= 0, count <= end - index else {
            throw failure("\(what): \(count) bytes wanted, \(max(end - index, 0)) left")
        }
        defer { index += count }
        return index
    }

    mutating func u8(_ what: String) throws(RFBSnapshotFormatError) -> UInt8 {
        bytes[try take(1, what)]
    }

    mutating func bool(_ what: String) throws(RFBSnapshotFormatError) -> Bool {
        let at = index
        switch try u8(what) {
        case 0: return false
        case 1: return true
        case let other: throw failure("\(what): \(other) is not a flag (0 or 1)", at: at)
        }
    }

    mutating func u16(_ what: String) throws(RFBSnapshotFormatError) -> UInt16 {
        let i = try take(2, what)
        return UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
    }

    mutating func u32(_ what: String) throws(RFBSnapshotFormatError) -> UInt32 {
        let i = try take(4, what)
        return (0..<4).reduce(0) { $0 << 8 | UInt32(bytes[i + $1]) }
    }

    mutating func u64(_ what: String) throws(RFBSnapshotFormatError) -> UInt64 {
        let i = try take(8, what)
        return (0..<8).reduce(0) { $0 << 8 | UInt64(bytes[i + $1]) }
    }

    /// A U32 length (at most `limit`), then the bytes.
    mutating func data(_ what: String, limit: Int) throws(RFBSnapshotFormatError) -> ArraySlice<UInt8> {
        let at = index
        let count = Int(try u32(what))
        guard count <= limit else { throw failure("\(what): \(count) bytes (at most \(limit))", at: at) }
        let i = try take(count, what)
        return bytes[i..<i + count]
    }

    /// A presence flag, then the value if present.
    mutating func optional<T>(_ what: String, _ read: (inout Self) throws(RFBSnapshotFormatError) -> T)
        throws(RFBSnapshotFormatError) -> T?
    {
        try bool(what) ? try read(&self) : nil
    }
}
