/// Where each block is and where each session's records are, for seeking (docs/record-format.md §5).
///
/// Written as an index block at a clean close; rebuilt by scanning when missing.
public struct RecordIndex: Sendable, Equatable {
    public struct BlockEntry: Sendable, Equatable {
        /// File offset of the block header.
        public var offset: UInt64
        public var firstWallMicros: Int64
        public var lastWallMicros: Int64
        public var recordCount: Int
    }

    public struct SessionEntry: Sendable, Equatable {
        /// Position of the block in ``RecordIndex/blocks``.
        public var blockOrdinal: Int
        /// Time (µs since session start) of the session's first record in that block.
        public var firstTimeMicros: UInt64
    }

    public var blocks: [BlockEntry] = []
    /// Per session, the blocks holding its records, in file order.
    public var sessions: [UInt32: [SessionEntry]] = [:]

    public init() {}

    /// Adds a records block and the first time of each session it holds.
    mutating func add(block: BlockEntry, sessionFirstTimes: [(UInt32, UInt64)]) {
        let ordinal = blocks.count
        blocks.append(block)
        for (session, time) in sessionFirstTimes {
            sessions[session, default: []].append(SessionEntry(blockOrdinal: ordinal, firstTimeMicros: time))
        }
    }

    /// Adds a records block read back from a file (other kinds are not indexed).
    mutating func add(_ block: DecodedBlock) {
        guard case .records(let records) = block.content else { return }
        var firsts: [UInt32: UInt64] = [:]
        for record in records where record.session != 0 && firsts[record.session] == nil {
            firsts[record.session] = record.timeMicros
        }
        add(
            block: .init(
                offset: block.offset, firstWallMicros: block.header.firstWallMicros,
                lastWallMicros: block.header.lastWallMicros, recordCount: block.header.recordCount),
            sessionFirstTimes: firsts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// Offset of the block from which reading finds the first record of `session` at or after `time`.
    public func blockOffset(session: UInt32, atTime time: UInt64) -> UInt64? {
        guard let entries = sessions[session], !entries.isEmpty else { return nil }
        // Last block whose first time is <= time (records of a session are in time order).
        var low = 0
        var high = entries.count - 1
        var found = 0
        while low <= high {
            let mid = (low + high) / 2
            if entries[mid].firstTimeMicros <= time {
                found = mid
                low = mid + 1
            } else {
                high = mid - 1
            }
        }
        return blocks[entries[found].blockOrdinal].offset
    }

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.appendLE(UInt32(blocks.count))
        for block in blocks {
            out.appendLE(block.offset)
            out.appendLE(block.firstWallMicros)
            out.appendLE(block.lastWallMicros)
            out.appendLE(UInt32(block.recordCount))
        }
        let ordered = sessions.keys.sorted()
        out.appendLE(UInt32(ordered.count))
        for session in ordered {
            let entries = sessions[session]!
            out.appendLE(session)
            out.appendLE(UInt32(entries.count))
            for entry in entries {
                out.appendLE(UInt32(entry.blockOrdinal))
                out.appendLE(entry.firstTimeMicros)
            }
        }
        return out
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> RecordIndex? {
        var cursor = ByteCursor(bytes)
        var index = RecordIndex()
        guard let blockCount = cursor.read(UInt32.self), Int(blockCount) <= cursor.remaining / 28 else { return nil }
        index.blocks.reserveCapacity(Int(blockCount))
        for _ in 0..<blockCount {
            guard let offset = cursor.read(UInt64.self), let first = cursor.read(Int64.self),
                let last = cursor.read(Int64.self), let count = cursor.read(UInt32.self)
            else { return nil }
            index.blocks.append(
                BlockEntry(offset: offset, firstWallMicros: first, lastWallMicros: last, recordCount: Int(count)))
        }
        guard let sessionCount = cursor.read(UInt32.self) else { return nil }
        for _ in 0..<sessionCount {
            guard let session = cursor.read(UInt32.self), let count = cursor.read(UInt32.self),
                Int(count) <= cursor.remaining / 12
            else { return nil }
            var entries: [SessionEntry] = []
            entries.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let ordinal = cursor.read(UInt32.self), let time = cursor.read(UInt64.self),
                    Int(ordinal) < index.blocks.count
                else { return nil }
                entries.append(SessionEntry(blockOrdinal: Int(ordinal), firstTimeMicros: time))
            }
            index.sessions[session] = entries
        }
        return cursor.remaining == 0 ? index : nil
    }
}
