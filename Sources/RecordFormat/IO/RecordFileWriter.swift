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
/// at the end of the file. Space is reserved ahead of the end (`fallocate`), and records blocks
/// never use the last part of it: that stays for what ``close()`` writes last — the index, the
/// trailer, and what a full disk cost. When a block finds no room (disk full, quota, file size
/// limit) or its write fails, it is dropped whole (the file stays valid) and its loss is counted;
/// its open and close records are kept aside while they fit in the reserve. As soon as there is
/// room again, and at the latest when the file is closed, a gap block says how many records and
/// bytes of which sessions were lost between which times (docs/record-format.md §5.4), followed by
/// the open and close records kept aside.
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
        /// The appended file's permission bits when they grant what the configured mode does not
        /// (an existing recording keeps its mode; the caller says so); nil otherwise.
        public var widerMode: UInt32? = nil
    }

    public private(set) var appendReport: AppendReport
    /// Largest encoded record a block can take (a frame payload of just under 1 GiB).
    public static let maximumRecordSize = BlockHeader.maximumRawLength - 4096
    /// Records dropped because their block could not be written.
    public private(set) var recordsLost = 0
    /// Gap blocks written so far.
    public private(set) var gapsWritten = 0
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
    /// Disk space is reserved up to here (beyond `endOffset`; see ``makeRoom(_:)``).
    private var reservedEnd: UInt64 = 0
    /// False once the file system refused to reserve space as unsupported: not asked again, and
    /// blocks are written unguarded (a full disk then shows as failing writes).
    private var canReserve = true
    /// Space is reserved in steps of this much.
    static let reservationStep: UInt64 = 8 << 20
    /// Kept in reserve, beyond the index and trailer, for the gap blocks and the open and close
    /// records a full disk leaves to write: what an outage may add before space comes back.
    static let outageReserve = 16 << 10
    /// Kept in reserve per open session, for its close record and its entry in a gap.
    static let openSessionReserve = 512
    /// The system calls blocks are written with (tests put in failing ones).
    package var system = WriterSystem.live
    /// Records lost and not yet reported in a gap block.
    private var lost = RecordLossTally()
    /// Open, close and marker records of blocks that could not be written, with their wall-clock
    /// times, to be written right after the gap.
    private var keptAside: [(record: Record, wall: Int64)] = []
    private var keptAsideBytes = 0
    /// Start times of sessions whose close record is in the open block (for the times of a loss).
    private var closedInOpenBlock: [UInt32: Int64] = [:]
    /// Start times of sessions closed since the last ``noteLost(_:)``, whose close records may be
    /// in blocks sealed since (for the times of records lost before them).
    private var recentlyClosed: [UInt32: Int64] = [:]
    /// Sessions whose open record was in a block that could not be written, while a loss is
    /// pending: no space was reserved for their close records.
    private var openedInOutage: Set<UInt32> = []
    /// Close records of the lost block still to be looked at whose sessions had space reserved.
    private var reservedCloses = 0
    /// Session entries in ``index`` (its encoded size grows by 12 bytes each).
    private var indexSessionEntries = 0

    /// Opens `path` for recording, creating it or appending a new run to an existing recording.
    /// A torn tail is cut back to the last good block first (see ``appendReport``). An existing
    /// file must be a regular file of this process's user, not reached through a symbolic link;
    /// one that gets a header (empty, or torn inside its header) is given the configured mode,
    /// a recording appended to keeps its own.
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
        let fd = try SystemFile.openCreating(path, mode: configuration.fileMode, exclusive: createNew)
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
                // Nothing of what was in the file is kept (an empty file put there, or a torn
                // header), so it gets the recording's mode like a new file.
                try SystemFile.setMode(fd, configuration.fileMode, path: path)
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
                let bits = try SystemFile.permissions(fd, path: path)
                if bits & ~configuration.fileMode != 0 { report.widerMode = bits }
                if scan.goodEnd < size {
                    try Self.truncate(fd, to: scan.goodEnd, path: path)
                    report.truncatedBytes = size - scan.goodEnd
                    report.truncatedAt = scan.goodEnd
                    report.damages.removeAll { $0.offset >= scan.goodEnd }
                }
                self.index = scan.index
                self.indexSessionEntries = scan.index.sessions.values.reduce(0) { $0 + $1.count }
                self.endOffset = scan.goodEnd
                self.nextSession = scan.maxSession &+ 1
            }
            self.appendReport = report
        } catch {
            // A file this call created (createNew) and could not start is removed — it is ours, and
            // empty or torn; a file that was there before is left alone.
            if createNew { Self.unlinkIfSame(fd, path: path) }
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

    /// Removes `path` if it still names the file open as `fd` (not one put there since).
    private static func unlinkIfSame(_ fd: Int32, path: String) {
        var open = stat()
        var named = stat()
        guard fstat(fd, &open) == 0, stat(path, &named) == 0, open.st_dev == named.st_dev, open.st_ino == named.st_ino
        else { return }
        unlink(path)
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
            wall = RecordTime.saturatingSum(open.startWallMicros, record.timeMicros)
        case .close:
            let start = sessionStarts.removeValue(forKey: record.session)
            if let start {
                closedInOpenBlock[record.session] = start
                recentlyClosed[record.session] = start
            }
            wall = RecordTime.saturatingSum(start ?? 0, record.timeMicros)
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
            ? Int64(clamping: timeMicros) : RecordTime.saturatingSum(sessionStarts[session] ?? 0, timeMicros)
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
    /// - Throws: ``RecordFormatError`` with code `.io` when the block was not written (no room for
    ///   it, or its write failed): its records are counted in the gap block that comes next, the
    ///   file stays valid, and the writer goes on.
    public func seal() throws(RecordFormatError) {
        guard !builder.isEmpty else { return }
        defer {
            builder.reset()
            closedInOpenBlock.removeAll(keepingCapacity: true)
        }
        let count = builder.recordCount
        // What was lost before goes into the file first (the tail reserve counts it), and only
        // once this block fits after it: one gap per outage, not one per lost block. Room is
        // checked on the raw size, before deflate is spent on a block with no place.
        var failure = makeRoom(
            BlockHeader.fixedLength + 4 * builder.sessionCount + builder.rawLength
                + indexGrowth(sessions: builder.sessionCount))
        if failure == nil { failure = flushLoss(force: true) }
        if failure == nil {
            let (header, deflated, sessions) = builder.seal(compressor: compressor)
            let offset = endOffset
            failure = writeBlock(header: header, stored: deflated.map(BlockPayload.init) ?? builder.payload)
            if failure == nil {
                indexBlock(at: offset, header, sessions)
                if configuration.syncEveryBlock { fdatasync(fd) }
                return
            }
        }
        let code = failure ?? EIO
        loseOpenBlock(because: code)
        throw RecordFormatError(
            .io,
            "cannot write a block of \(count) records: \(SystemFile.errnoText(code)); it was dropped, the file is "
                + "intact up to this offset, and a gap block will say what was lost", path: path, offset: endOffset)
    }

    /// Adds a records block just written to the index.
    private func indexBlock(at offset: UInt64, _ header: BlockHeader, _ sessions: [(UInt32, UInt64)]) {
        index.add(
            block: .init(
                offset: offset, firstWallMicros: header.firstWallMicros, lastWallMicros: header.lastWallMicros,
                recordCount: header.recordCount),
            sessionFirstTimes: sessions)
        indexSessionEntries += sessions.count
    }

    /// Counts records that never reached the writer (e.g. ``BackgroundRecorder``'s queue was
    /// full), to be reported in a gap block right after the records appended so far. Call it after
    /// every batch of records, with an empty tally when nothing was lost: the start times of the
    /// sessions closed in the batch are kept until then.
    func noteLost(_ tally: RecordLossTally) throws(RecordFormatError) {
        defer { recentlyClosed.removeAll(keepingCapacity: true) }
        guard !tally.isEmpty else { return }
        var incoming = RecordLossTally()
        incoming.merge(tally, wall: lossWall)  // while the sessions closed since the last call are known
        var failure: RecordFormatError?
        do throws(RecordFormatError) {
            try seal()
        } catch {
            failure = error
        }
        // A session gets an entry of its own only while it fits in the reserve, as in loseOpenBlock.
        let pending = lost.encodedLength
        var merged = lost
        merged.merge(incoming, listed: { tally, _ in self.fitsInReserve(tally.encodedLength(adding: 1) - pending) })
        lost = merged
        recordsLost += Int(clamping: tally.records)
        _ = flushLoss(force: false)
        if let failure { throw failure }
    }

    /// The records lost and not yet written in a gap block, as the gaps that will be written.
    public var pendingGaps: [RecordGap] { lost.isEmpty ? [] : lost.gaps() }

    /// Wall-clock time of a lost record of `session` at `time` (§3.4), also for sessions closed
    /// since the last ``noteLost(_:)``.
    private func lossWall(_ session: UInt32, _ time: UInt64) -> Int64 {
        guard session != 0 else { return Int64(clamping: time) }
        let start = sessionStarts[session] ?? closedInOpenBlock[session] ?? recentlyClosed[session] ?? 0
        return RecordTime.saturatingSum(start, time)
    }

    /// Counts the open block's records as lost; its open, close and marker records are kept aside
    /// instead while they fit in the reserve, to be written after the gap.
    private func loseOpenBlock(because code: Int32) {
        lost.note(SystemFile.errnoText(code))
        var dropped = 0
        let payload = builder.payload.contiguous()
        payload.withUnsafeBytes { bytes in
            // Sessions opened in this block had no space reserved for their close records.
            RecordCodec.walk(bytes) { kind, _, session, _, _ in
                if kind == .open { openedInOutage.insert(session) }
            }
            reservedCloses = closedInOpenBlock.keys.filter { !openedInOutage.contains($0) }.count
            RecordCodec.walk(bytes) { kind, flags, session, time, body in
                var kept: Record?
                var wall = lossWall(session, time)
                switch kind {
                case .frame:
                    let direction: Direction =
                        flags & RecordCodec.Flag.targetToClient != 0 ? .targetToClient : .clientToTarget
                    lost.add(
                        session: session, timeMicros: time, wallMicros: wall, frame: (direction, body.count),
                        cause: .writeFailed, listed: canList(session))
                    dropped += 1
                    return
                case .open:
                    if let open = RecordCodec.decodeOpen(body) {
                        kept = Record(session: session, timeMicros: time, body: .open(open))
                        wall = RecordTime.saturatingSum(open.startWallMicros, time)
                    }
                case .close:
                    kept = RecordCodec.decodeClose(body).map {
                        Record(session: session, timeMicros: time, body: .close($0))
                    }
                case .marker:
                    let text = String(decoding: body, as: UTF8.self)
                    kept = Record(session: session, timeMicros: time, body: .marker(text))
                }
                let length = RecordCodec.headerLength + body.count
                if let kept, keepAside(kept, wall: wall, encodedLength: length) { return }
                lost.add(
                    session: session, timeMicros: time, wallMicros: wall, frame: nil, cause: .writeFailed,
                    listed: canList(session))
                dropped += 1
            }
        }
        recordsLost += dropped
    }

    /// Keeps `record` to be written after the gap, if it fits in what is reserved for that. The
    /// close record of a session that was open may use the space kept for open sessions; anything
    /// else must leave that alone.
    private func keepAside(_ record: Record, wall: Int64, encodedLength: Int) -> Bool {
        // Its bytes, its session in the block header and its index entries (and, for the first,
        // the block's header and index entry).
        let cost = encodedLength + 4 + 20 + (keptAside.isEmpty ? BlockHeader.fixedLength + 28 : 0)
        var closesOpenSession = false
        if case .close = record.body {
            closesOpenSession = closedInOpenBlock[record.session] != nil && !openedInOutage.contains(record.session)
        }
        if closesOpenSession { reservedCloses -= 1 }
        if closesOpenSession {
            guard fitsInReserve(cost, keepingForOpenSessions: false) else { return false }
        } else {
            let budget = Self.outageReserve + Self.openSessionReserve * (sessionStarts.count + 1)
            guard keptAsideBytes + cost <= budget, fitsInReserve(cost) else { return false }
        }
        keptAside.append((record, wall))
        keptAsideBytes += cost
        return true
    }

    /// Whether a lost record of `session` can get an entry of its own in the gap: it has one, or
    /// one more still fits in the space reserved (else it is counted in the gap's totals only).
    private func canList(_ session: UInt32) -> Bool {
        lost.lists(session) || fitsInReserve(lost.encodedLength(adding: 1) - lost.encodedLength)
    }

    /// Whether `cost` more bytes of the committed tail still fit in what is reserved (or, where
    /// nothing can be reserved, under the file size limit), leaving the space kept for the close
    /// records of the open sessions unless `keepingForOpenSessions` is false.
    private func fitsInReserve(_ cost: Int, keepingForOpenSessions: Bool = true) -> Bool {
        let guarded = canReserve && system.reserve != nil
        let limit = guarded ? min(reservedEnd, system.fileSizeLimit) : system.fileSizeLimit
        let kept = keepingForOpenSessions ? Self.openSessionReserve * (sessionStarts.count + reservedCloses) : 0
        return endOffset + UInt64(committedTail + cost + kept) <= limit
    }

    /// Bytes the index block can take (stored: its raw size) plus the trailer.
    private var indexAndTrailerLength: Int {
        BlockHeader.fixedLength + 8 + 28 * index.blocks.count + 8 * index.sessions.count + 12 * indexSessionEntries
            + BlockHeader.fixedLength + 16
    }

    /// What ``close()`` writes whatever happens: the pending gap, the records kept aside, the
    /// index and the trailer.
    private var committedTail: Int {
        indexAndTrailerLength + lost.encodedLength + keptAsideBytes
    }

    /// What must stay reserved beyond the blocks written: the committed tail, and room for what
    /// an outage may add to it (a gap, and the close record of every open session).
    private var tailReserve: Int {
        committedTail + Self.outageReserve + Self.openSessionReserve * sessionStarts.count
    }

    /// How much a records block listing `sessions` sessions adds to the index (at most).
    private func indexGrowth(sessions: Int) -> Int { 28 + 20 * sessions }

    /// Makes sure `length` more bytes can be written at the end while the tail reserve keeps its
    /// space; nil when so, else the errno that says why not (ENOSPC, EDQUOT, EFBIG).
    ///
    /// Space is reserved with `fallocate` (`FALLOC_FL_KEEP_SIZE`): the file's size, and so what
    /// readers see, is only the blocks written. On ext4 that also makes writes cheaper (0.2–0.5 s
    /// of system time per GiB instead of 0.3–1.7 s). Where the file system cannot reserve, blocks
    /// are written unguarded and a full disk shows as failing writes.
    private func makeRoom(_ length: Int) -> Int32? {
        let end = endOffset + UInt64(length) + UInt64(tailReserve)
        if end > system.fileSizeLimit { return EFBIG }
        guard end > reservedEnd, canReserve, let reserve = system.reserve else { return nil }
        let start = max(reservedEnd, endOffset)
        func attempt(_ upTo: UInt64) -> Int32 { reserveSpace(from: start, upTo: upTo, with: reserve) }
        let step = configuration.reservationStep ?? Self.reservationStep
        let steps = (end - start + step - 1) / step
        let stepEnd = min(start + steps * step, max(end, system.fileSizeLimit))
        var code = attempt(stepEnd)
        if code == ENOSPC || code == EDQUOT || code == EFBIG {
            // Less than a whole step is left: what is needed may still fit.
            code = attempt(end)
            return code == 0 ? nil : code
        }
        if code != 0 { canReserve = false }  // not supported here: write unguarded
        return nil
    }

    /// Reserves [start, upTo) with `reserve` (retried when interrupted) and moves ``reservedEnd``
    /// there; 0, or the errno.
    private func reserveSpace(
        from start: UInt64, upTo: UInt64, with reserve: (Int32, off_t, off_t) -> Int32
    ) -> Int32 {
        var code: Int32
        repeat { code = reserve(fd, off_t(start), off_t(upTo - start)) } while code == EINTR
        if code == 0 { reservedEnd = upTo }
        return code
    }

    /// Cuts a partly written block off the end of the file, back to `start`. That frees the space
    /// reserved past `start` as well (ext4 does so even when the size does not change), so it is
    /// reserved again at once: what ``close()`` writes last counts on it.
    private func cutBack(to start: UInt64) {
        let reserved = reservedEnd
        _ = system.truncate(fd, off_t(start))
        reservedEnd = start
        guard reserved > start, canReserve, let reserve = system.reserve else { return }
        _ = reserveSpace(from: start, upTo: reserved, with: reserve)
    }

    /// Writes the pending gap blocks, then the records kept aside, when there is room for them
    /// and for all that must stay reserved after them (`force`: room was made, or at close, into
    /// the space kept for them). nil when nothing is pending any more, else the errno that stopped it.
    private func flushLoss(force: Bool) -> Int32? {
        guard !lost.isEmpty || !keptAside.isEmpty else { return nil }
        if !force, let code = makeRoom(0) { return code }
        for gap in lost.isEmpty ? [] : lost.gaps() {
            if let code = writeGap(gap) {
                lost.note(SystemFile.errnoText(code))
                return code
            }
            lost.remove(gap)
        }
        var start = 0
        while start < keptAside.count {
            var aside = BlockBuilder(capacity: keptAsideBytes)
            var end = start
            while end < keptAside.count && aside.sessionCount < BlockHeader.maximumSessions {
                aside.add(keptAside[end].record, wallMicros: keptAside[end].wall)
                end += 1
            }
            let (header, deflated, sessions) = aside.seal(compressor: compressor)
            let offset = endOffset
            if let code = writeBlock(header: header, stored: deflated.map(BlockPayload.init) ?? aside.payload) {
                // Now they are lost too: the next gap says so.
                lost.note(SystemFile.errnoText(code))
                for (record, wall) in keptAside[start...] {
                    lost.add(
                        session: record.session, timeMicros: record.timeMicros, wallMicros: wall, frame: nil,
                        cause: .writeFailed)
                }
                recordsLost += keptAside.count - start
                keptAside.removeAll()
                keptAsideBytes = 0
                return code
            }
            indexBlock(at: offset, header, sessions)
            start = end
        }
        keptAside.removeAll()
        keptAsideBytes = 0
        openedInOutage.removeAll()
        return nil
    }

    /// Writes `gap` as a gap block at the end of the file; the errno when that failed.
    private func writeGap(_ gap: RecordGap) -> Int32? {
        let payload = BlockPayload(gap.encodedPayload())
        let (header, _) = BlockBuilder.makeBlock(
            kind: .gap, payload: payload, recordCount: 0, firstWall: gap.firstWallMicros, lastWall: gap.lastWallMicros,
            sessions: gap.sessions.map(\.session).filter { $0 != 0 }, compressor: nil)
        if let code = writeBlock(header: header, stored: payload) { return code }
        gapsWritten += 1
        return nil
    }

    /// Appends a gap block read from another file (e.g. by `repair`), after the open block, so
    /// that a copy still says what the original lost.
    public func appendGap(_ gap: RecordGap) throws(RecordFormatError) {
        try seal()
        let start = endOffset
        if let code = writeGap(gap) {
            throw RecordFormatError(.io, "cannot write a gap block: \(SystemFile.errnoText(code))", path: path, offset: start)
        }
    }

    /// Appends bytes of a block exactly as they were (e.g. a damaged block kept by `repair`).
    /// Seals the open block first so the order of the file is kept.
    public func appendVerbatimBlock(_ bytes: [UInt8]) throws(RecordFormatError) {
        try seal()
        let start = endOffset
        let fd = self.fd
        let writev = system.writev
        if let code = bytes.withUnsafeBytes({
            SystemFile.write(pieces: [$0], at: start) { writev(fd, $0, $1, $2) }
        }) {
            cutBack(to: start)
            throw RecordFormatError(.io, "write failed: \(SystemFile.errnoText(code))", path: path, offset: start)
        }
        endOffset = start + UInt64(bytes.count)
    }

    /// Writes a block at the end of the file: header and payload pieces in one vectored write,
    /// normally (a referenced payload is written from where it is). Returns the errno of a failed
    /// write, after cutting the partial block off again so the file stays valid up to its start.
    private func writeBlock(header: BlockHeader, stored: BlockPayload) -> Int32? {
        let headerBytes = header.encoded()
        let start = endOffset
        let fd = self.fd
        let writev = system.writev
        // Header and pieces in one vectored write (more for blocks of over 128 referenced payloads).
        var failure: Int32?
        var position = start
        headerBytes.withUnsafeBytes { header in
            var first = true
            stored.forEachPieceGroup { pieces in
                let group = first ? [header] + pieces : pieces
                first = false
                failure = SystemFile.write(pieces: group, at: position) { writev(fd, $0, $1, $2) }
                position += UInt64(group.reduce(0) { $0 + $1.count })
                return failure == nil
            }
        }
        if let code = failure {
            cutBack(to: start)
            return code
        }
        endOffset = start + UInt64(headerBytes.count + stored.count)
        return nil
    }

    /// Seals the open block, writes what was lost (gap blocks and the open and close records kept
    /// aside), the index and the trailer, syncs and closes the file. The index and trailer are
    /// written even when the last block or the gap could not be; the first such error is thrown.
    public func close() throws(RecordFormatError) {
        guard !closed else { return }
        defer {
            closed = true
            if reservedEnd > endOffset { _ = ftruncate(fd, off_t(endOffset)) }  // release the reservation
            Glibc.close(fd)
        }
        var failure: RecordFormatError?
        do throws(RecordFormatError) {
            try seal()
        } catch {
            failure = error
        }
        if let code = flushLoss(force: true), failure == nil {
            failure = RecordFormatError(
                .io, "cannot write the gap block: \(SystemFile.errnoText(code))", path: path, offset: endOffset)
        }
        let now = clock.wallMicros()
        let indexOffset = endOffset
        let indexRaw = BlockPayload(index.encoded())
        let (indexHeader, indexStored) = BlockBuilder.makeBlock(
            kind: .index, payload: indexRaw, recordCount: 0, firstWall: now, lastWall: now, sessions: [],
            compressor: compressor)
        if let code = writeBlock(header: indexHeader, stored: indexStored.map(BlockPayload.init) ?? indexRaw) {
            throw failure
                ?? RecordFormatError(
                    .io, "cannot write the index: \(SystemFile.errnoText(code))", path: path, offset: indexOffset)
        }
        var trailer: [UInt8] = []
        trailer.appendLE(indexOffset)
        trailer.appendLE(UInt64(indexHeader.encodedLength + indexHeader.storedLength))
        let (trailerHeader, _) = BlockBuilder.makeBlock(
            kind: .trailer, payload: BlockPayload(trailer), recordCount: 0, firstWall: now, lastWall: now,
            sessions: [], compressor: nil)
        if let code = writeBlock(header: trailerHeader, stored: BlockPayload(trailer)) {
            throw failure
                ?? RecordFormatError(
                    .io, "cannot write the trailer: \(SystemFile.errnoText(code))", path: path, offset: endOffset)
        }
        if let failure { throw failure }
        if configuration.syncOnClose && fsync(fd) != 0 {
            throw RecordFormatError(.io, "fsync failed: \(SystemFile.errnoText(errno))", path: path)
        }
    }
}
