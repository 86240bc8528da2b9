/// A block read back from a file.
public struct DecodedBlock: Sendable {
    /// File offset of the block header.
    public var offset: UInt64
    public var header: BlockHeader
    public var content: Content

    /// Bytes the block occupies in the file.
    public var totalLength: Int { header.encodedLength + header.storedLength }

    public enum Content: Sendable {
        case records([Record])
        case index(RecordIndex)
        /// Where the index block of a cleanly closed file is.
        case trailer(indexOffset: UInt64, indexLength: UInt64)
    }
}

/// Damage found while reading: a torn tail, a block that failed its checks, or bytes that are no block.
public struct Damage: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The file ends inside a block (a writer was killed or the disk filled up).
        case truncated
        /// A block whose header is intact but whose payload failed its CRC, decompression or parsing.
        case corruptBlock = "corrupt-block"
        /// Bytes where a block should start but none does; the reader skipped to the next block.
        case garbage
    }

    public var kind: Kind
    /// File offset where the damage starts.
    public var offset: UInt64
    /// Bytes affected.
    public var length: UInt64
    /// Records known to be lost (from an intact block header), when known.
    public var recordsLost: Int?
    public var message: String
    /// Sessions a corrupt block's (intact) header lists.
    public var sessions: [UInt32]

    public init(kind: Kind, offset: UInt64, length: UInt64, recordsLost: Int?, message: String, sessions: [UInt32] = []) {
        self.kind = kind
        self.offset = offset
        self.length = length
        self.recordsLost = recordsLost
        self.message = message
        self.sessions = sessions
    }

    public var description: String {
        var text = "\(kind.rawValue) at byte \(offset) (\(length) bytes): \(message)"
        if let recordsLost { text += "; \(recordsLost) records lost" }
        return text
    }
}

/// Accumulates records into the next block and seals it (docs/record-format.md §3).
struct BlockBuilder {
    private(set) var raw: [UInt8] = []
    private(set) var recordCount = 0
    private(set) var firstWall = Int64.max
    private(set) var lastWall = Int64.min
    private var sessionFirstTimes: [UInt32: UInt64] = [:]

    var isEmpty: Bool { recordCount == 0 }
    var sessionCount: Int { sessionFirstTimes.count }

    init(capacity: Int) { raw.reserveCapacity(capacity) }

    mutating func add(_ record: Record, wallMicros: Int64) {
        RecordCodec.encode(record, into: &raw)
        recordCount += 1
        firstWall = min(firstWall, wallMicros)
        lastWall = max(lastWall, wallMicros)
        if record.session != 0, sessionFirstTimes[record.session] == nil {
            sessionFirstTimes[record.session] = record.timeMicros
        }
    }

    /// Header of the block the records make, and its deflated payload (nil: the payload is
    /// stored, i.e. ``raw`` itself). Call ``reset()`` once the block is written.
    func seal(compressor: BlockCompressor?) -> (header: BlockHeader, deflated: [UInt8]?, sessions: [(UInt32, UInt64)]) {
        let sessions = sessionFirstTimes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let (header, deflated) = Self.makeBlock(
            kind: .records, raw: raw, recordCount: recordCount, firstWall: firstWall, lastWall: lastWall,
            sessions: sessions.map(\.0), compressor: compressor)
        return (header, deflated, sessions)
    }

    /// Empties the builder, keeping its buffer.
    mutating func reset() {
        raw.removeAll(keepingCapacity: true)
        recordCount = 0
        firstWall = .max
        lastWall = .min
        sessionFirstTimes.removeAll(keepingCapacity: true)
    }

    /// Builds a block header around `raw`, deflating it unless it looks incompressible or would
    /// not shrink. Returns the deflated bytes, or nil when `raw` is to be stored as it is.
    static func makeBlock(
        kind: BlockHeader.Kind, raw: [UInt8], recordCount: Int, firstWall: Int64, lastWall: Int64,
        sessions: [UInt32], compressor: BlockCompressor?
    ) -> (BlockHeader, [UInt8]?) {
        var deflated: [UInt8]?
        if let compressor, raw.count >= 64 {
            deflated = raw.withUnsafeBytes { bytes in
                looksIncompressible(bytes) ? nil : compressor.compress(bytes)
            }
        }
        let crc = (deflated ?? raw).withUnsafeBytes { crc32Of($0) }
        let header = BlockHeader(
            kind: kind, codec: deflated == nil ? .stored : .deflate, storedLength: deflated?.count ?? raw.count,
            rawLength: raw.count, recordCount: recordCount, firstWallMicros: firstWall, lastWallMicros: lastWall,
            payloadCRC: crc, sessions: sessions)
        return (header, deflated)
    }
}
