/// The header in front of every block (see docs/record-format.md §3).
public struct BlockHeader: Sendable, Equatable {
    /// `'W' 'S' 'B' 'K'`: lets a reader find the next block after damage.
    public static let sync: [UInt8] = [0x57, 0x53, 0x42, 0x4B]
    static let syncWord: UInt32 = 0x4B42_5357  // the sync bytes read as a little-endian u32
    /// Header bytes without the session list.
    static let fixedLength = 48
    /// Largest uncompressed block a reader accepts; larger declared lengths are treated as damage.
    public static let maximumRawLength = 1 << 30
    /// Most records one block may hold; bounds what decoding a block can cost in memory.
    public static let maximumRecords = 1 << 20
    /// Most sessions one block header can list.
    public static let maximumSessions = 4096

    public enum Kind: UInt8, Sendable {
        case records = 1
        case index = 2
        case trailer = 3
        /// Records the writer lost (since format 1.2, §5.4).
        case gap = 4
    }

    public enum Codec: UInt8, Sendable {
        case stored = 0
        case deflate = 1
    }

    public var kind: Kind
    public var codec: Codec
    /// Bytes of payload in the file after this header.
    public var storedLength: Int
    /// Bytes of payload once decompressed.
    public var rawLength: Int
    public var recordCount: Int
    /// Earliest record time in the block, microseconds since the Unix epoch.
    public var firstWallMicros: Int64
    /// Latest record time in the block, microseconds since the Unix epoch.
    public var lastWallMicros: Int64
    /// CRC-32 of the stored payload bytes.
    public var payloadCRC: UInt32
    /// Sessions with at least one record in the block, ascending.
    public var sessions: [UInt32]

    /// Bytes this header occupies.
    public var encodedLength: Int { Self.fixedLength + 4 * sessions.count }

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(encodedLength)
        out.append(contentsOf: Self.sync)
        out.append(kind.rawValue)
        out.append(codec.rawValue)
        out.appendLE(UInt16(encodedLength))
        out.appendLE(UInt32(storedLength))
        out.appendLE(UInt32(rawLength))
        out.appendLE(UInt32(recordCount))
        out.appendLE(firstWallMicros)
        out.appendLE(lastWallMicros)
        out.appendLE(payloadCRC)
        out.appendLE(UInt16(sessions.count))
        out.appendLE(UInt16(0))  // flags, none defined
        for session in sessions { out.appendLE(session) }
        out.appendLE(out.withUnsafeBytes { crc32Of($0) })
        return out
    }

    enum ParseResult {
        case needMore(Int)
        case header(BlockHeader)
        /// Not a valid header at this position; `reason` says why.
        case invalid(String)
        /// A valid header (its CRC checks out) of a kind or codec this reader does not know, as a
        /// newer minor version may write: the block spans `totalLength` bytes and is skipped.
        /// `recordsLost` is set when its records cannot be read (unknown codec of a records block).
        case unknown(totalLength: Int, recordsLost: Int?, reason: String, sessions: [UInt32])
    }

    /// Parses a header at the start of `bytes` (which must begin with the sync bytes).
    static func parse(_ bytes: UnsafeRawBufferPointer) -> ParseResult {
        guard bytes.count >= 8 else { return .needMore(8) }
        guard loadLE(bytes, 0, as: UInt32.self) == syncWord else { return .invalid("no block sync bytes") }
        let length = Int(loadLE(bytes, 6, as: UInt16.self))
        guard length >= fixedLength, (length - fixedLength) % 4 == 0,
            length <= fixedLength + 4 * maximumSessions
        else { return .invalid("block header length \(length) is impossible") }
        guard bytes.count >= length else { return .needMore(length) }
        let stored = loadLE(bytes, length - 4, as: UInt32.self)
        let computed = crc32Of(UnsafeRawBufferPointer(rebasing: bytes[0..<length - 4]))
        guard stored == computed else {
            return .invalid("block header CRC-32 mismatch (stored \(hex32(stored)), computed \(hex32(computed)))")
        }
        let sessionCount = Int(loadLE(bytes, 40, as: UInt16.self))
        guard fixedLength - 4 + 4 * sessionCount == length - 4 else {
            return .invalid("block header lists \(sessionCount) sessions but is \(length) bytes long")
        }
        let storedLength = Int(loadLE(bytes, 8, as: UInt32.self))
        let rawLength = Int(loadLE(bytes, 12, as: UInt32.self))
        let recordCount = Int(loadLE(bytes, 16, as: UInt32.self))
        guard rawLength <= maximumRawLength, storedLength <= maximumRawLength else {
            return .invalid("block declares \(max(rawLength, storedLength)) bytes, over the \(maximumRawLength) limit")
        }
        let listed = (0..<sessionCount).map { loadLE(bytes, 44 + 4 * $0, as: UInt32.self) }
        guard let kind = Kind(rawValue: bytes[4]) else {
            return .unknown(
                totalLength: length + storedLength, recordsLost: nil,
                reason: "block kind \(bytes[4]) is unknown to this reader (skipped)", sessions: listed)
        }
        guard let codec = Codec(rawValue: bytes[5]) else {
            return .unknown(
                totalLength: length + storedLength, recordsLost: kind == .records ? recordCount : nil,
                reason: "block codec \(bytes[5]) is unknown to this reader; use a newer wsrecord-inspect",
                sessions: listed)
        }
        if codec == .stored && storedLength != rawLength {
            return .invalid("stored block declares \(storedLength) stored but \(rawLength) raw bytes")
        }
        if codec == .deflate && storedLength >= rawLength {
            return .invalid("deflated block is not smaller than its \(rawLength) raw bytes")
        }
        guard kind != .records || (recordCount <= rawLength / RecordCodec.headerLength && recordCount <= maximumRecords)
        else {
            return .invalid("block declares \(recordCount) records in only \(rawLength) bytes")
        }
        let sessions = listed
        return .header(
            BlockHeader(
                kind: kind, codec: codec, storedLength: storedLength, rawLength: rawLength,
                recordCount: recordCount,
                firstWallMicros: loadLE(bytes, 20, as: Int64.self),
                lastWallMicros: loadLE(bytes, 28, as: Int64.self),
                payloadCRC: loadLE(bytes, 36, as: UInt32.self),
                sessions: sessions))
    }
}
