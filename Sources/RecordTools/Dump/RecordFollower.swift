#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import RecordFormat

/// Reads a recording that is still being written (`dump --follow`): each ``poll(_:)`` hands out the
/// entries of the blocks sealed since the last one.
///
/// Only whole blocks are taken. Bytes past the last whole block (a block the writer is appending
/// right now) are read again on the next poll rather than kept: a writer killed inside a block leaves
/// a torn tail, and the next run cuts it off and writes new blocks at the same offset (§7), which
/// this reader then reads as they are. The decoder reports damage only once it is certain: a corrupt
/// block when it is whole, bytes that are no block when a good block follows them. What is past the
/// last good block is a tail that may still grow into a block (``finish()`` reports it).
public final class RecordFollower: FollowedRecording {
    public let path: String
    public let header: FileHeader
    /// Damage reported so far.
    public private(set) var damages: [Damage] = []
    /// Gap blocks passed so far.
    public private(set) var gaps: [RecordGap] = []
    /// True while the file ends with a trailer that points at the index block just before it: the
    /// last run was closed cleanly (§5.2, §5.3) and nothing has been appended since.
    public private(set) var endsClosed = false

    private let fd: Int32
    /// Offset of the first block not taken yet.
    private var resumeOffset: UInt64
    /// File size at the last poll that read.
    private var seenSize: UInt64 = 0
    /// The last index block read: (offset, total length).
    private var lastIndex: (offset: UInt64, length: UInt64)?
    private var chunk = [UInt8](repeating: 0, count: 1 << 20)

    /// Opens `path` and reads its file header (a file that does not have a whole header yet is an
    /// error: the writer writes the header before anything else).
    /// - Throws: ``RecordFormatError`` as ``RecordFileReader`` does; a legacy (Python) recording is
    ///   refused with `.notARecording`, as its lines are not sealed in blocks.
    public init(path: String) throws(RecordFormatError) {
        self.path = path
        let reader = try RecordFileReader(path: path, chunkSize: 64)
        self.header = reader.header
        self.fd = try SystemFile.open(path, flags: O_RDONLY)
        self.resumeOffset = UInt64(reader.header.encodedLength)
    }

    deinit { close(fd) }

    /// The file's size now.
    public func currentSize() throws(RecordFormatError) -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw RecordFormatError(.io, "cannot stat: \(SystemFile.errnoText(errno))", path: path)
        }
        return UInt64(info.st_size)
    }

    /// True when a process holds a `flock` on the file: a writer has it open (every run holds an
    /// exclusive one while it records, §7). Read from Linux's `/proc/locks`, which does not take
    /// the lock (trying to take it, even shared, could make a writer starting that moment refuse
    /// the file); false where that file does not exist.
    public func lockedByWriter() -> Bool {
        var info = stat()
        guard fstat(fd, &info) == 0, let file = fopen("/proc/locks", "r") else { return false }
        defer { fclose(file) }
        let device = UInt64(info.st_dev)
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)
        let minor = (device & 0xff) | ((device >> 12) & ~0xff)
        let hex = { (value: UInt64) in
            let text = String(value, radix: 16)
            return text.count < 2 ? "0" + text : text
        }
        let wanted = "\(hex(major)):\(hex(minor)):\(info.st_ino)"
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let fields = text.split(separator: " ", omittingEmptySubsequences: true)
            // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (a blocked waiter has "->" after "1:")
            if fields.contains("FLOCK"), fields.contains(where: { $0 == wanted }) { return true }
        }
        return false
    }

    /// Reads the blocks that became whole since the last poll and hands out their entries and the
    /// damage found before them, in file order. Returns false when the file has not changed.
    @discardableResult
    public func poll(_ handle: (RecordFollowEvent) throws -> Void) throws -> Bool {
        let size = try currentSize()
        guard size != seenSize else { return false }
        seenSize = size
        guard size >= resumeOffset else {
            throw RecordFormatError(
                .io, "the file shrank to \(size) bytes, below blocks already read (up to byte \(resumeOffset))",
                path: path)
        }
        var decoder = RecordStreamDecoder(path: path, startOffset: resumeOffset, header: header)
        var offset = resumeOffset
        func drain() throws {
            while let event = try decoder.next() {
                switch event {
                case .header: continue
                case .damage(let damage):
                    damages.append(damage)
                    try handle(.damage(damage))
                case .block(let block): try take(block, handle)
                }
            }
            // Past blocks that were whole but not handed out (corrupt, or of a kind this reader skips).
            if let end = decoder.lastBlockEnd, end > resumeOffset { resumeOffset = end }
        }
        while offset < size {
            let want = Int(min(UInt64(chunk.count), size - offset))
            let n = try SystemFile.read(fd, into: &chunk, at: offset, path: path)
            guard n > 0 else { break }
            let got = min(n, want)
            chunk.withUnsafeBytes { decoder.feed(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
            offset += UInt64(got)
            try drain()
        }
        if resumeOffset < size { endsClosed = false }
        return true
    }

    /// The end of following: what is past the last whole block is now a torn tail (or garbage), and
    /// is reported as damage.
    public func finish() throws -> [Damage] {
        let size = try currentSize()
        guard size > resumeOffset else { return [] }
        var decoder = RecordStreamDecoder(path: path, startOffset: resumeOffset, header: header)
        var bytes = [UInt8](repeating: 0, count: Int(size - resumeOffset))
        let n = try SystemFile.read(fd, into: &bytes, at: resumeOffset, path: path)
        decoder.feed(Array(bytes.prefix(n)))
        var found: [Damage] = []
        while let event = try decoder.next() { if case .damage(let damage) = event { found.append(damage) } }
        if let tail = try decoder.finish() { found.append(tail) }
        damages += found
        return found
    }

    private func take(_ block: DecodedBlock, _ handle: (RecordFollowEvent) throws -> Void) throws {
        resumeOffset = block.offset + UInt64(block.totalLength)
        endsClosed = false
        switch block.content {
        case .records(let records):
            for record in records { try handle(.entry(.record(record))) }
        case .gap(let gap):
            gaps.append(gap)
            try handle(.entry(.gap(gap)))
        case .index:
            lastIndex = (block.offset, UInt64(block.totalLength))
        case .trailer(let indexOffset, let indexLength):
            if let lastIndex, lastIndex.offset == indexOffset, lastIndex.length == indexLength {
                endsClosed = true
            }
        }
    }
}
