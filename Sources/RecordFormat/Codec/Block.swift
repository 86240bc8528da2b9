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
        /// Records the writer lost at this point of the file (format 1.2).
        case gap(RecordGap)
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

/// A block's raw payload as the writer holds it: bytes of its own, with the payloads of frame
/// records kept by reference (``RecordPayload``) spliced in between, so that big payloads are
/// not copied on their way to the file.
struct BlockPayload {
    /// Payloads at least this long are referenced; shorter ones are copied, which is cheaper than
    /// keeping track of them.
    static let referenceThreshold = 4096

    /// The bytes of the payload that are not referenced.
    private(set) var own: [UInt8] = []
    /// Referenced payloads, each with the number of `own` bytes that come before it.
    private var references: [(offset: Int, payload: any RecordPayload)] = []
    /// Length of the whole payload.
    private(set) var count = 0

    init(capacity: Int = 0) { own.reserveCapacity(capacity) }

    init(_ bytes: [UInt8]) {
        own = bytes
        count = bytes.count
    }

    /// Appends bytes of its own through `body`.
    mutating func appendOwn(_ body: (inout [UInt8]) -> Void) {
        let before = own.count
        body(&own)
        count += own.count - before
    }

    /// Appends `payload`, by reference when it is long enough.
    mutating func append(_ payload: any RecordPayload) {
        let length = payload.byteCount
        if length >= Self.referenceThreshold {
            references.append((own.count, payload))
            count += length
        } else {
            appendOwn { own in payload.withPayloadBytes { own.append(contentsOf: $0) } }
        }
    }

    mutating func removeAll() {
        own.removeAll(keepingCapacity: true)
        references.removeAll(keepingCapacity: true)
        count = 0
    }

    /// Calls `body` with the payload's pieces, in order (empty pieces are skipped).
    func forEachPiece(_ body: (UnsafeRawBufferPointer) -> Void) {
        own.withUnsafeBytes { own in
            var start = 0
            for (offset, payload) in references {
                if offset > start { body(UnsafeRawBufferPointer(rebasing: own[start..<offset])) }
                payload.withPayloadBytes { if $0.count > 0 { body($0) } }
                start = offset
            }
            if own.count > start { body(UnsafeRawBufferPointer(rebasing: own[start...])) }
        }
    }

    /// Calls `body` with the payload's pieces in order (empty ones left out), a group at a time,
    /// for vectored writes; stops early when `body` returns false. Each group holds at most
    /// `referencesPerGroup` referenced payloads: every pointer handed over must stay inside the
    /// `withPayloadBytes` scope that vouches for it, so the scopes nest, and groups keep the
    /// nesting shallow whatever the block size. A 1 MiB block holds at most 257 references
    /// (payloads of 4 KiB or more), so it takes one or three groups. The pointers are valid only
    /// inside `body`.
    func forEachPieceGroup(referencesPerGroup: Int = 128, _ body: ([UnsafeRawBufferPointer]) -> Bool) {
        precondition(referencesPerGroup > 0)
        own.withUnsafeBytes { own in
            var next = 0
            var ownStart = 0
            while true {
                let end = min(references.count, next + referencesPerGroup)
                let isLast = end == references.count
                var pieces: [UnsafeRawBufferPointer] = []
                pieces.reserveCapacity(2 * (end - next) + 1)
                let goOn = nestPieces(
                    from: next, to: end, own: own, ownStart: ownStart, isLast: isLast, into: &pieces, body)
                if !goOn || isLast { return }
                ownStart = references[end - 1].offset
                next = end
            }
        }
    }

    private func nestPieces(
        from index: Int, to end: Int, own: UnsafeRawBufferPointer, ownStart: Int, isLast: Bool,
        into pieces: inout [UnsafeRawBufferPointer], _ body: ([UnsafeRawBufferPointer]) -> Bool
    ) -> Bool {
        guard index < end else {
            if isLast && own.count > ownStart { pieces.append(UnsafeRawBufferPointer(rebasing: own[ownStart...])) }
            return body(pieces)
        }
        let (offset, payload) = references[index]
        if offset > ownStart { pieces.append(UnsafeRawBufferPointer(rebasing: own[ownStart..<offset])) }
        return payload.withPayloadBytes { bytes in
            if bytes.count > 0 { pieces.append(bytes) }
            return nestPieces(from: index + 1, to: end, own: own, ownStart: offset, isLast: isLast, into: &pieces, body)
        }
    }

    /// Calls `body` with the pieces that make up the payload bytes at `range`, in order.
    func forEachPiece(in range: Range<Int>, _ body: (UnsafeRawBufferPointer) -> Void) {
        var position = 0
        forEachPiece { piece in
            let pieceRange = position..<(position + piece.count)
            position += piece.count
            let overlap = pieceRange.clamped(to: range)
            guard !overlap.isEmpty else { return }
            let local = (overlap.lowerBound - pieceRange.lowerBound)..<(overlap.upperBound - pieceRange.lowerBound)
            body(UnsafeRawBufferPointer(rebasing: piece[local]))
        }
    }

    /// The whole payload in one array (a copy only when payloads are referenced).
    func contiguous() -> [UInt8] {
        guard !references.isEmpty else { return own }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        forEachPiece { out.append(contentsOf: $0) }
        return out
    }

    /// CRC-32 of the payload.
    func crc32() -> UInt32 {
        var crc: UInt32 = 0
        forEachPiece { crc = crc32Of($0, continuing: crc) }
        return crc
    }

    /// ``looksIncompressible(_:)`` over the payload, reading only the sampled bytes.
    func looksIncompressible() -> Bool {
        guard !references.isEmpty else { return own.withUnsafeBytes { RecordFormat.looksIncompressible($0) } }
        return RecordFormat.looksIncompressible(length: count) { range, histogram in
            forEachPiece(in: range) { piece in
                for byte in piece { histogram[Int(byte)] += 1 }
            }
        }
    }
}

/// Accumulates records into the next block and seals it (docs/record-format.md §3).
struct BlockBuilder {
    private(set) var payload: BlockPayload
    private(set) var recordCount = 0
    private(set) var firstWall = Int64.max
    private(set) var lastWall = Int64.min
    private var sessionFirstTimes: [UInt32: UInt64] = [:]

    var isEmpty: Bool { recordCount == 0 }
    var sessionCount: Int { sessionFirstTimes.count }
    /// The block's raw payload length so far.
    var rawLength: Int { payload.count }

    init(capacity: Int) { payload = BlockPayload(capacity: capacity) }

    mutating func add(_ record: Record, wallMicros: Int64) {
        if case .frame(let frame) = record.body {
            add(FrameRecord(session: record.session, timeMicros: record.timeMicros, frame: frame), wallMicros: wallMicros)
            return
        }
        payload.appendOwn { RecordCodec.encode(record, into: &$0) }
        noteRecord(session: record.session, timeMicros: record.timeMicros, wallMicros: wallMicros)
    }

    mutating func add(_ frame: FrameRecord, wallMicros: Int64) {
        payload.appendOwn { RecordCodec.encodeHeader(of: frame, into: &$0) }
        payload.append(frame.payload)
        noteRecord(session: frame.session, timeMicros: frame.timeMicros, wallMicros: wallMicros)
    }

    private mutating func noteRecord(session: UInt32, timeMicros: UInt64, wallMicros: Int64) {
        recordCount += 1
        firstWall = min(firstWall, wallMicros)
        lastWall = max(lastWall, wallMicros)
        if session != 0, sessionFirstTimes[session] == nil {
            sessionFirstTimes[session] = timeMicros
        }
    }

    /// Header of the block the records make, and its deflated payload (nil: the payload is
    /// stored, i.e. ``payload`` itself). Call ``reset()`` once the block is written.
    func seal(compressor: BlockCompressor?) -> (header: BlockHeader, deflated: [UInt8]?, sessions: [(UInt32, UInt64)]) {
        let sessions = sessionFirstTimes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let (header, deflated) = Self.makeBlock(
            kind: .records, payload: payload, recordCount: recordCount, firstWall: firstWall, lastWall: lastWall,
            sessions: sessions.map(\.0), compressor: compressor)
        return (header, deflated, sessions)
    }

    /// Empties the builder, keeping its buffer (and letting go of referenced payloads).
    mutating func reset() {
        payload.removeAll()
        recordCount = 0
        firstWall = .max
        lastWall = .min
        sessionFirstTimes.removeAll(keepingCapacity: true)
    }

    /// Builds a block header around `payload`, deflating it unless it looks incompressible or
    /// would not shrink. Returns the deflated bytes, or nil when `payload` is to be stored as it is.
    static func makeBlock(
        kind: BlockHeader.Kind, payload: BlockPayload, recordCount: Int, firstWall: Int64, lastWall: Int64,
        sessions: [UInt32], compressor: BlockCompressor?
    ) -> (BlockHeader, [UInt8]?) {
        var deflated: [UInt8]?
        if let compressor, payload.count >= 64, !payload.looksIncompressible() {
            deflated = payload.contiguous().withUnsafeBytes { compressor.compress($0) }
        }
        let crc = deflated.map { $0.withUnsafeBytes { crc32Of($0) } } ?? payload.crc32()
        let header = BlockHeader(
            kind: kind, codec: deflated == nil ? .stored : .deflate, storedLength: deflated?.count ?? payload.count,
            rawLength: payload.count, recordCount: recordCount, firstWallMicros: firstWall, lastWallMicros: lastWall,
            payloadCRC: crc, sessions: sessions)
        return (header, deflated)
    }
}
