#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a recording file block by block or record by record, with bounded memory.
///
/// A torn tail or a corrupt block does not stop reading: everything readable is returned and
/// each problem is listed in ``damages`` with its byte offset.
public final class RecordFileReader {
    public let path: String
    public let header: FileHeader
    public let fileSize: UInt64
    /// Problems found so far, in file order.
    public private(set) var damages: [Damage] = []
    /// Records returned by ``nextRecord()`` so far.
    public private(set) var recordsRead = 0
    /// Gap blocks passed so far (by ``nextRecord()`` or ``nextEntry()``): records the writer lost.
    public private(set) var gaps: [RecordGap] = []
    /// Entries read ahead by ``nextEntry()``: the gaps passed on the way to a record, then it.
    /// Handed out from ``aheadPosition`` on (not by removing the first: a file of a million gap
    /// blocks before one record would then cost a million moves per entry).
    private var aheadEntries: [RecordEntry] = []
    private var aheadPosition = 0

    let fd: Int32
    private var decoder: RecordStreamDecoder
    private var readOffset: UInt64
    private var atEnd = false
    private var pendingRecords: [Record] = []
    private var pendingPosition = 0
    private var pendingBlockOffset: UInt64 = 0
    private var chunk: [UInt8]
    /// The trailer's index once looked for: `.some(nil)` when the file has none that describes it.
    private var trailerIndex: RecordIndex??

    /// Opens `path` and reads its header.
    /// - Throws: ``RecordFormatError`` when the file cannot be read, is not a recording, or has an
    ///   unknown major version.
    public init(path: String, chunkSize: Int = 4 << 20) throws(RecordFormatError) {
        self.path = path
        self.fd = try SystemFile.open(path, flags: O_RDONLY)
        do throws(RecordFormatError) {
            self.fileSize = try SystemFile.size(fd, path: path)
            self.chunk = [UInt8](repeating: 0, count: max(chunkSize, 64))
            var decoder = RecordStreamDecoder(path: path)
            var offset: UInt64 = 0
            var found: FileHeader?
            while found == nil {
                let n = try Self.readChunk(fd, &chunk, offset, path)
                if n == 0 { _ = try decoder.finish() }
                chunk.withUnsafeBytes { decoder.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                offset += UInt64(n)
                if case .header(let h)? = try decoder.next() { found = h }
            }
            self.header = found!
            self.decoder = decoder
            self.readOffset = offset
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    private static func readChunk(_ fd: Int32, _ chunk: inout [UInt8], _ offset: UInt64, _ path: String)
        throws(RecordFormatError) -> Int
    {
        try SystemFile.read(fd, into: &chunk, at: offset, path: path)
    }

    /// The next block of any kind, or nil at the end of the file. Damage is recorded and skipped.
    public func nextBlock() throws(RecordFormatError) -> DecodedBlock? {
        while true {
            if let event = try decoder.next() {
                switch event {
                case .header: continue
                case .block(let block): return block
                case .damage(let damage): damages.append(damage)
                }
                continue
            }
            if atEnd { return nil }
            let n = try Self.readChunk(fd, &chunk, readOffset, path)
            if n == 0 {
                atEnd = true
                if let damage = try decoder.finish() { damages.append(damage) }
                continue
            }
            chunk.withUnsafeBytes { decoder.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            readOffset += UInt64(n)
        }
    }

    /// The next record in file order, or nil at the end.
    public func nextRecord() throws(RecordFormatError) -> Record? {
        while pendingPosition == pendingRecords.count {
            guard let block = try nextBlock() else { return nil }
            if case .records(let records) = block.content {
                pendingRecords = records
                pendingPosition = 0
                pendingBlockOffset = block.offset
            } else if case .gap(let gap) = block.content {
                gaps.append(gap)
            }
        }
        let record = pendingRecords[pendingPosition]
        lastRecordLocation = RecordLocation(offset: pendingBlockOffset, indexInBlock: pendingPosition)
        pendingPosition += 1
        recordsRead += 1
        return record
    }

    /// The next record or gap in file order, or nil at the end. Use it instead of
    /// ``nextRecord()``, not between its calls (it reads one record ahead).
    public func nextEntry() throws(RecordFormatError) -> RecordEntry? {
        if aheadPosition == aheadEntries.count {
            let known = gaps.count
            let record = try nextRecord()
            aheadEntries = gaps[known...].map(RecordEntry.gap) + (record.map { [.record($0)] } ?? [])
            aheadPosition = 0
            if aheadEntries.isEmpty { return nil }
        }
        defer { aheadPosition += 1 }
        return aheadEntries[aheadPosition]
    }

    /// Where the record ``nextRecord()`` returned last is: its block and its position in it.
    public private(set) var lastRecordLocation: RecordLocation?

    /// File offset just past the last block whose header was valid (read, damaged or of a kind
    /// this reader skips); nil before the first.
    public var lastBlockEnd: UInt64? { decoder.lastBlockEnd }
    /// Sessions listed by blocks this reader could not decode (kinds or codecs of newer versions).
    public var unreadableSessions: Set<UInt32> { decoder.unreadableSessions }

    /// File bytes read so far (for progress reports).
    public var bytesRead: UInt64 { readOffset }

    /// Continues reading at `offset`, which must be the start of a block (e.g. from the index).
    public func seek(toBlockAt offset: UInt64) {
        let offset = min(offset, fileSize)  // an index entry past the end reads as the end
        decoder = RecordStreamDecoder(path: path, startOffset: offset, header: header)
        readOffset = offset
        atEnd = false
        pendingRecords = []
        pendingPosition = 0
    }

    /// Positions the reader so that ``nextRecord()`` reaches the first record of `session` at or
    /// after `time` (µs since the session start) soon; returns false when the session is unknown.
    public func seek(session: UInt32, toTime time: UInt64) throws(RecordFormatError) -> Bool {
        let index = try loadIndex()
        guard let offset = index.blockOffset(session: session, atTime: time) else { return false }
        seek(toBlockAt: offset)
        return true
    }

    /// The file's index: from its trailer when the file was closed cleanly, else rebuilt by scanning.
    /// Does not move this reader.
    public func loadIndex() throws(RecordFormatError) -> RecordIndex {
        if let index = try indexFromTrailer() { return index }
        return try RecordFileReader.scanIndex(path: path)
    }

    /// True when the file ends with a trailer pointing at a valid index that describes the file's blocks.
    public func hasValidIndex() throws(RecordFormatError) -> Bool { try indexFromTrailer() != nil }

    private func readBlock(at offset: UInt64, length: Int) throws(RecordFormatError) -> DecodedBlock? {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(length))
        guard length > 0, !overflow, end <= fileSize, length <= BlockHeader.maximumRawLength + 1 << 20 else {
            return nil
        }
        var bytes = [UInt8](repeating: 0, count: length)
        let n = try SystemFile.read(fd, into: &bytes, at: offset, path: path)
        guard n == length else { return nil }
        var local = RecordStreamDecoder(path: path, startOffset: offset, header: header)
        local.feed(bytes)
        if case .block(let block)? = try local.next(), block.totalLength == length { return block }
        return nil
    }

    /// The index the trailer points at, when it describes the file (checked once per reader, §5.3).
    private func indexFromTrailer() throws(RecordFormatError) -> RecordIndex? {
        if let trailerIndex { return trailerIndex }
        let found = try readIndexFromTrailer()
        let checked = try found.flatMap { found throws(RecordFormatError) in
            try indexDescribesFile(found.index, indexOffset: found.offset) ? found.index : nil
        }
        trailerIndex = .some(checked)
        return checked
    }

    private func readIndexFromTrailer() throws(RecordFormatError) -> (index: RecordIndex, offset: UInt64)? {
        let trailerLength = BlockHeader.fixedLength + 16
        guard fileSize >= UInt64(header.encodedLength + trailerLength) else { return nil }
        guard let trailer = try readBlock(at: fileSize - UInt64(trailerLength), length: trailerLength),
            case .trailer(let indexOffset, let indexLength) = trailer.content,
            let indexBlock = try readBlock(at: indexOffset, length: Int(clamping: indexLength)),
            case .index(let index) = indexBlock.content
        else { return nil }
        return (index, indexOffset)
    }

    /// Builds an index by reading every block of `path`.
    public static func scanIndex(path: String) throws(RecordFormatError) -> RecordIndex {
        let reader = try RecordFileReader(path: path)
        var index = RecordIndex()
        while let block = try reader.nextBlock() { index.add(block) }
        return index
    }
}
