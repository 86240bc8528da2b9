#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends records to a recording file, one sealed block at a time.
///
/// Memory stays bounded by one open block. Every sealed block is written with positioned writes
/// at the end of the file; if a write fails (disk full, file too large), the partial block is cut
/// off again so what was written before stays valid, and the error says how many records were lost.
/// Not thread-safe: use it from one thread (see ``BackgroundRecorder``).
public final class RecordFileWriter {
    public let path: String
    public let configuration: RecordWriterConfiguration

    /// What opening an existing file found.
    public struct AppendReport: Sendable, Equatable {
        /// True when the file already held a recording.
        public var appended: Bool
        /// Highest session number already in the file (0 when none).
        public var lastExistingSession: UInt32
        /// Bytes of torn tail cut off before appending, and where.
        public var truncatedBytes: UInt64
        public var truncatedAt: UInt64?
        /// Damage found inside the existing file (kept as it is).
        public var damages: [Damage]
    }

    public private(set) var appendReport: AppendReport
    /// Largest encoded record a block can take (a frame payload of just under 1 GiB).
    public static let maximumRecordSize = BlockHeader.maximumRawLength - 4096
    /// Records dropped because their block could not be written.
    public private(set) var recordsLost = 0
    /// File size: where the next block goes.
    public private(set) var endOffset: UInt64

    private var fd: Int32
    private let clock: any RecordClock
    private var builder: BlockBuilder
    private let compressor: BlockCompressor?
    private var index = RecordIndex()
    private var sessionStarts: [UInt32: Int64] = [:]
    private var nextSession: UInt32
    private var blockOpenedAt: UInt64 = 0
    private var closed = false
    /// Disk space is reserved up to here (beyond `endOffset`; see ``reserveSpace(for:)``).
    private var reservedEnd: UInt64 = 0
    /// False once the file system refused to reserve space: not asked again.
    private var canReserve = true
    /// Space is reserved in steps of this much.
    static let reservationStep: UInt64 = 8 << 20
    /// Linux's `fallocate(2)`, which Swift's Glibc module does not export (it is a GNU
    /// extension); looked up once. nil where there is none.
    private static let fallocate = SystemFile.cFunction(
        "fallocate", as: (@convention(c) (Int32, Int32, off_t, off_t) -> Int32).self)
    /// `FALLOC_FL_KEEP_SIZE` (linux/falloc.h): reserve without changing the file's size.
    private static let keepSize: Int32 = 1

    /// Opens `path` for recording, creating it or appending a new run to an existing recording.
    /// A torn tail is cut back to the last good block first (see ``appendReport``).
    /// - Parameters:
    ///   - createNew: refuse to open a file that already exists (for tool outputs).
    ///   - header: the header for a new file (default: now, and the configured producer).
    public init(
        path: String, configuration: RecordWriterConfiguration = .init(), clock: any RecordClock = SystemRecordClock(),
        createNew: Bool = false, header: FileHeader? = nil
    ) throws(RecordFormatError) {
        self.path = path
        self.configuration = configuration
        self.clock = clock
        self.builder = BlockBuilder(capacity: configuration.blockSizeBound + 4096)
        self.compressor = configuration.compress ? BlockCompressor(level: configuration.compressionLevel) : nil
        let fd = try SystemFile.open(path, flags: O_RDWR | O_CREAT | (createNew ? O_EXCL : 0))
        self.fd = fd
        do throws(RecordFormatError) {
            // One writer per file: a second one would cut the first one's open block as a torn tail.
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                throw RecordFormatError(
                    .io, "another process is recording into this file (it is locked); choose another file",
                    path: path)
            }
            var size = try SystemFile.size(fd, path: path)
            var report = AppendReport(
                appended: false, lastExistingSession: 0, truncatedBytes: 0, truncatedAt: nil, damages: [])
            if size > 0 && size < UInt64(FileHeader.minimumLength) {
                // A file torn inside its own header (killed right after creation) holds nothing.
                var bytes = [UInt8](repeating: 0, count: Int(size))
                _ = try SystemFile.read(fd, into: &bytes, at: 0, path: path)
                guard FileHeader.magic.starts(with: bytes.prefix(8)) else {
                    throw RecordFormatError(.notARecording, "refusing to append: not a recording", path: path)
                }
                try Self.truncate(fd, to: 0, path: path)
                report.truncatedBytes = size
                report.truncatedAt = 0
                size = 0
            }
            if size == 0 {
                let header = (header
                    ?? FileHeader(
                        createdWallMicros: clock.wallMicros(), producerName: configuration.producerName,
                        producerVersion: configuration.producerVersion)).encoded()
                if let code = header.withUnsafeBytes({ SystemFile.write(fd, $0, at: 0) }) {
                    throw RecordFormatError(.io, "cannot write file header: \(SystemFile.errnoText(code))", path: path)
                }
                self.endOffset = UInt64(header.count)
                self.nextSession = 1
            } else {
                let scan = try Self.scanExisting(path: path)
                report.appended = true
                report.damages = scan.damages
                report.lastExistingSession = scan.maxSession
                if scan.goodEnd < size {
                    try Self.truncate(fd, to: scan.goodEnd, path: path)
                    report.truncatedBytes = size - scan.goodEnd
                    report.truncatedAt = scan.goodEnd
                    report.damages.removeAll { $0.offset >= scan.goodEnd }
                }
                self.index = scan.index
                self.endOffset = scan.goodEnd
                self.nextSession = scan.maxSession &+ 1
            }
            self.appendReport = report
        } catch {
            Glibc.close(fd)
            throw error
        }
        if appendReport.appended {
            var note = "recording resumed by \(configuration.producerName) \(configuration.producerVersion)"
            if let at = appendReport.truncatedAt {
                note += "; cut a torn tail of \(appendReport.truncatedBytes) bytes at byte \(at)"
            }
            try append(Record(session: 0, timeMicros: UInt64(max(0, clock.wallMicros())), body: .marker(note)))
        }
    }

    deinit {
        if !closed { try? close() }
    }

    private struct Scan {
        var goodEnd: UInt64
        var maxSession: UInt32
        var index: RecordIndex
        var damages: [Damage]
    }

    private static func scanExisting(path: String) throws(RecordFormatError) -> Scan {
        let reader: RecordFileReader
        do throws(RecordFormatError) {
            reader = try RecordFileReader(path: path)
        } catch {
            var refusal = error
            refusal.message = "refusing to append: " + error.message
            throw refusal
        }
        var scan = Scan(goodEnd: UInt64(reader.header.encodedLength), maxSession: 0, index: RecordIndex(), damages: [])
        while let block = try reader.nextBlock() {
            scan.goodEnd = block.offset + UInt64(block.totalLength)
            scan.maxSession = max(scan.maxSession, block.header.sessions.max() ?? 0)
            scan.index.add(block)
        }
        scan.damages = reader.damages
        // A complete block whose payload is damaged, or that a newer version wrote, stays (its
        // bytes are kept, never cut), and the sessions its header lists are not numbered again.
        scan.goodEnd = max(scan.goodEnd, reader.lastBlockEnd ?? 0)
        for damage in reader.damages where damage.kind == .corruptBlock {
            scan.maxSession = max(scan.maxSession, damage.sessions.max() ?? 0)
        }
        scan.maxSession = max(scan.maxSession, reader.unreadableSessions.max() ?? 0)
        return scan
    }

    private static func truncate(_ fd: Int32, to size: UInt64, path: String) throws(RecordFormatError) {
        guard ftruncate(fd, off_t(size)) == 0 else {
            throw RecordFormatError(
                .io, "cannot cut the torn tail: \(SystemFile.errnoText(errno))", path: path, offset: size)
        }
    }

    /// Reserves the next session number (numbers count from 1 per file and continue across runs).
    public func allocateSession() -> UInt32 {
        defer { nextSession &+= 1 }
        return nextSession
    }

    /// Adds a record to the open block, sealing it when it is full or old enough.
    /// - Throws: ``RecordFormatError`` with code `.io` when sealing a block failed; the file is
    ///   still valid up to the previous block and the writer can go on.
    public func append(_ record: Record) throws(RecordFormatError) {
        if case .frame(let frame) = record.body {
            try append(FrameRecord(session: record.session, timeMicros: record.timeMicros, frame: frame))
            return
        }
        try checkAppend(encodedSize: RecordCodec.encodedSize(record))
        let wall: Int64
        switch record.body {
        case .open(let open):
            sessionStarts[record.session] = open.startWallMicros
            if record.session >= nextSession { nextSession = record.session &+ 1 }
            wall = open.startWallMicros &+ Int64(clamping: record.timeMicros)
        case .close:
            wall = (sessionStarts.removeValue(forKey: record.session) ?? 0) &+ Int64(clamping: record.timeMicros)
        case .frame, .marker:
            wall = wallMicros(session: record.session, timeMicros: record.timeMicros)
        }
        try add(encodedSize: RecordCodec.encodedSize(record)) { $0.add(record, wallMicros: wall) }
    }

    /// Adds a frame record whose payload is kept by reference until its block is written (no
    /// copy); the file holds the same bytes as for the equivalent ``Record``.
    public func append(_ frame: FrameRecord) throws(RecordFormatError) {
        try checkAppend(encodedSize: frame.encodedSize)
        let wall = wallMicros(session: frame.session, timeMicros: frame.timeMicros)
        try add(encodedSize: frame.encodedSize) { $0.add(frame, wallMicros: wall) }
    }

    private func checkAppend(encodedSize: Int) throws(RecordFormatError) {
        guard !closed else { throw RecordFormatError(.invalidArgument, "writer is closed", path: path) }
        guard encodedSize <= Self.maximumRecordSize else {
            throw RecordFormatError(
                .invalidArgument,
                "a record of \(encodedSize) bytes is over the \(Self.maximumRecordSize)-byte limit", path: path)
        }
    }

    /// Wall-clock time of a record other than an open or close (§3.4).
    private func wallMicros(session: UInt32, timeMicros: UInt64) -> Int64 {
        session == 0
            ? Int64(clamping: timeMicros) : (sessionStarts[session] ?? 0) &+ Int64(clamping: timeMicros)
    }

    private func add(encodedSize: Int, _ body: (inout BlockBuilder) -> Void) throws(RecordFormatError) {
        // A big record must not push the open block past the limits readers enforce.
        if !builder.isEmpty && builder.rawLength + encodedSize > BlockHeader.maximumRawLength {
            try seal()
        }
        if builder.isEmpty { blockOpenedAt = clock.monotonicNanos() }
        body(&builder)
        if builder.rawLength >= configuration.blockSizeBound || builder.sessionCount >= BlockHeader.maximumSessions
            || builder.recordCount >= BlockHeader.maximumRecords
        {
            try seal()
        } else {
            try sealIfDue()
        }
    }

    /// Seals the open block when it has been open for the seal interval. Call it from a timer
    /// when records may stop coming.
    public func sealIfDue() throws(RecordFormatError) {
        guard !builder.isEmpty else { return }
        if clock.monotonicNanos() &- blockOpenedAt >= configuration.sealIntervalNanos { try seal() }
    }

    /// Seals and writes the open block now.
    public func seal() throws(RecordFormatError) {
        guard !builder.isEmpty else { return }
        let count = builder.recordCount
        let (header, deflated, sessions) = builder.seal(compressor: compressor)
        let offset = endOffset
        defer { builder.reset() }
        try writeBlock(header: header, stored: deflated.map(BlockPayload.init) ?? builder.payload, records: count)
        index.add(
            block: .init(
                offset: offset, firstWallMicros: header.firstWallMicros, lastWallMicros: header.lastWallMicros,
                recordCount: header.recordCount),
            sessionFirstTimes: sessions)
        if configuration.syncEveryBlock { fdatasync(fd) }
    }

    /// Appends bytes of a block exactly as they were (e.g. a damaged block kept by `repair`).
    /// Seals the open block first so the order of the file is kept.
    public func appendVerbatimBlock(_ bytes: [UInt8]) throws(RecordFormatError) {
        try seal()
        let start = endOffset
        if let code = bytes.withUnsafeBytes({ SystemFile.write(fd, $0, at: start) }) {
            _ = ftruncate(fd, off_t(start))
            throw RecordFormatError(.io, "write failed: \(SystemFile.errnoText(code))", path: path, offset: start)
        }
        endOffset = start + UInt64(bytes.count)
    }

    /// Reserves disk space ahead of the end of the file, without changing its size
    /// (`FALLOC_FL_KEEP_SIZE`): ext4 then writes into allocated extents instead of reserving
    /// blocks page by page, which here costs 0.2–0.5 s of system time per GiB written instead of
    /// 0.3–1.7 s. Only a hint: a refusal (no space, no support) just lets writes go on as usual.
    /// What is not used is released when the file is closed.
    private func reserveSpace(for length: Int) {
        let end = endOffset + UInt64(length)
        guard canReserve, end > reservedEnd else { return }
        let start = max(reservedEnd, endOffset)
        let steps = (end - start + Self.reservationStep - 1) / Self.reservationStep
        let size = steps * Self.reservationStep
        if let reserve = Self.fallocate, reserve(fd, Self.keepSize, off_t(start), off_t(size)) == 0 {
            reservedEnd = start + size
        } else {
            canReserve = false
        }
    }

    /// Writes a block at the end of the file: header and payload pieces in one vectored write,
    /// normally (a referenced payload is written from where it is).
    private func writeBlock(header: BlockHeader, stored: BlockPayload, records: Int) throws(RecordFormatError) {
        let headerBytes = header.encoded()
        reserveSpace(for: headerBytes.count + stored.count)
        let start = endOffset
        // Header and pieces in one vectored write (more for blocks of over 128 referenced payloads).
        var failure: Int32?
        var position = start
        headerBytes.withUnsafeBytes { header in
            var first = true
            stored.forEachPieceGroup { pieces in
                let group = first ? [header] + pieces : pieces
                first = false
                failure = SystemFile.write(fd, pieces: group, at: position)
                position += UInt64(group.reduce(0) { $0 + $1.count })
                return failure == nil
            }
        }
        if let code = failure {
            // Cut the partial block so the file stays valid up to `start` (this also releases
            // the space reserved beyond it).
            _ = ftruncate(fd, off_t(start))
            reservedEnd = start
            recordsLost += records
            throw RecordFormatError(
                .io,
                "write failed: \(SystemFile.errnoText(code)); a block of \(records) records was dropped, "
                    + "the file is intact up to this offset", path: path, offset: start)
        }
        endOffset = start + UInt64(headerBytes.count + stored.count)
    }

    /// Seals the open block, writes the index and trailer, syncs and closes the file.
    public func close() throws(RecordFormatError) {
        guard !closed else { return }
        defer {
            closed = true
            if reservedEnd > endOffset { _ = ftruncate(fd, off_t(endOffset)) }  // release the reservation
            Glibc.close(fd)
        }
        try seal()
        let now = clock.wallMicros()
        let indexOffset = endOffset
        let indexRaw = BlockPayload(index.encoded())
        let (indexHeader, indexStored) = BlockBuilder.makeBlock(
            kind: .index, payload: indexRaw, recordCount: 0, firstWall: now, lastWall: now, sessions: [],
            compressor: compressor)
        try writeBlock(header: indexHeader, stored: indexStored.map(BlockPayload.init) ?? indexRaw, records: 0)
        var trailer: [UInt8] = []
        trailer.appendLE(indexOffset)
        trailer.appendLE(UInt64(indexHeader.encodedLength + indexHeader.storedLength))
        let (trailerHeader, _) = BlockBuilder.makeBlock(
            kind: .trailer, payload: BlockPayload(trailer), recordCount: 0, firstWall: now, lastWall: now,
            sessions: [], compressor: nil)
        try writeBlock(header: trailerHeader, stored: BlockPayload(trailer), records: 0)
        if configuration.syncOnClose && fsync(fd) != 0 {
            throw RecordFormatError(.io, "fsync failed: \(SystemFile.errnoText(errno))", path: path)
        }
    }
}
