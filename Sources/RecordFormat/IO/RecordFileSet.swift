#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The files of one recording, as its ``RecordFileLayout`` says: it hands each record to the
/// ``RecordFileWriter`` of the file it belongs in, starts the next file of a rotated recording
/// and closes per-session files as their sessions end. Each file it closes is complete (index,
/// trailer, fsync) when `onClosed` hears of it.
///
/// Rotation happens between batches (``sealIfDue()``), never inside a block: the old file is
/// closed cleanly, and every session still open goes on in the new file with an open record
/// carrying the same ``SessionOpen`` (its identity, start and addresses) and the time of the
/// session's last record, so each file reads on its own and tools join the parts by identity.
/// A marker in each file names the other one. Session numbers are the process's: a session keeps
/// its number in every file.
///
/// Not thread-safe: ``BackgroundRecorder``'s writer thread uses it.
final class RecordFileSet {
    let layout: RecordFileLayout
    private let configuration: RecordWriterConfiguration
    private let clock: any RecordClock
    private let onClosed: @Sendable (ClosedRecordFile) -> Void
    /// What opening the first file found (a single file may be appended to).
    let appendReport: RecordFileWriter.AppendReport
    /// The first session number to give out.
    let firstSession: UInt32

    /// The file of a single or rotated recording.
    private var current: RecordFileWriter?
    /// When the current file of a recording rotated by time is due to close.
    private var boundary: Int64?
    /// Sessions open in the current file, with the time of their latest record (rotation only).
    private var open: [UInt32: (open: SessionOpen, last: UInt64)] = [:]
    /// A failed rotation is tried again no sooner than this (monotonic ns).
    private var retryRotationAt: UInt64 = 0
    /// Why the last rotation failed, until ``takeRotationFailure()`` takes it.
    private var rotationFailure: RecordFormatError?
    static let rotationRetryNanos: UInt64 = 10_000_000_000
    /// A per-session file reserves disk space 256 KiB at a time (not 8 MiB: hundreds are open at once).
    static let perSessionReservationStep: UInt64 = 256 << 10

    /// The file of each open session (per-session recording).
    private var sessionFiles: [UInt32: RecordFileWriter] = [:]
    /// Sessions whose close record was written, closed at the end of the batch (after its losses).
    private var ending: [UInt32] = []
    /// Sessions whose file could not be created: their records are counted, not written.
    private var unrecorded: Set<UInt32> = []
    /// Records that had no file to go to (a session whose file could not be made).
    private(set) var recordsWithoutFile = 0

    /// Bytes of the files closed so far (what they held beyond the size they were opened at).
    private var closedBytes: UInt64 = 0
    /// Gap blocks written into files closed so far.
    private var closedGaps = 0
    /// The size the current file had when it was opened.
    private var currentStart: UInt64 = 0

    init(
        layout: RecordFileLayout, configuration: RecordWriterConfiguration, clock: any RecordClock = SystemRecordClock(),
        onClosed: @escaping @Sendable (ClosedRecordFile) -> Void = { _ in }
    ) throws(RecordFormatError) {
        self.layout = layout
        var configuration = configuration
        if case .perSession = layout, configuration.reservationStep == nil {
            configuration.reservationStep = Self.perSessionReservationStep
        }
        self.configuration = configuration
        self.clock = clock
        self.onClosed = onClosed
        switch layout {
        case .single(let path):
            let writer = try RecordFileWriter(path: path, configuration: configuration, clock: clock)
            current = writer
            appendReport = writer.appendReport
            firstSession = writer.allocateSession()
            currentStart = writer.appendReport.appended ? writer.endOffset : 0
        case .rotating(let base, let rotation):
            let writer = try Self.createFirstFree(configuration: configuration, clock: clock) { attempt in
                RecordFileName.rotated(base: base, wallMicros: clock.wallMicros(), attempt: attempt)
            }
            current = writer
            appendReport = writer.appendReport
            firstSession = writer.allocateSession()
            boundary = rotation.nextBoundary(after: clock.wallMicros())
        case .perSession(let directory):
            try Self.checkDirectory(directory)
            appendReport = .init(appended: false, lastExistingSession: 0, truncatedBytes: 0, truncatedAt: nil, damages: [])
            firstSession = 1
        }
    }

    /// The path of the file being written (single and rotated recordings).
    var currentPath: String? { current?.path }

    /// Bytes written into the recording's files by this process so far (grows across rotations).
    var bytesWritten: UInt64 {
        var total = closedBytes
        if let current { total += current.endOffset - min(current.endOffset, currentStart) }
        for writer in sessionFiles.values { total += writer.endOffset }
        return total
    }

    /// Gap blocks written into the recording's files by this process so far.
    var gapsWritten: Int {
        closedGaps + (current?.gapsWritten ?? 0) + sessionFiles.values.reduce(0) { $0 + $1.gapsWritten }
    }

    /// A directory that recordings can be created in, or an error that says why not.
    static func checkDirectory(_ directory: String) throws(RecordFormatError) {
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw RecordFormatError(.io, "cannot record into this directory: \(SystemFile.errnoText(errno))", path: directory)
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw RecordFormatError(.io, "cannot record into this directory: not a directory", path: directory)
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw RecordFormatError(.io, "cannot record into this directory: \(SystemFile.errnoText(errno))", path: directory)
        }
    }

    /// Creates the first name of `name(1)`, `name(2)`, … that is not taken (`O_CREAT|O_EXCL`: a
    /// name another writer takes between the check and the creation is skipped, never removed; a
    /// file this makes and cannot start, e.g. on a full disk, the writer removes itself).
    static func createFirstFree(
        configuration: RecordWriterConfiguration, clock: any RecordClock, name: (Int) -> String
    ) throws(RecordFormatError) -> RecordFileWriter {
        var attempt = 1
        while true {
            let path = name(attempt)
            if access(path, F_OK) != 0 {
                do throws(RecordFormatError) {
                    return try RecordFileWriter(path: path, configuration: configuration, clock: clock, createNew: true)
                } catch where error.message == SystemFile.alreadyExists {
                    // Made by someone else in between: the next name.
                } catch {
                    throw error
                }
            }
            attempt += 1
            guard attempt <= 1000 else {
                throw RecordFormatError(.io, "cannot find a free file name (tried 1000)", path: path)
            }
        }
    }

    // MARK: - Records

    func append(_ record: Record) throws(RecordFormatError) {
        if case .perSession = layout {
            try appendPerSession(record)
            return
        }
        if case .rotating = layout, record.session != 0 {
            switch record.body {
            case .open(let body): open[record.session] = (body, record.timeMicros)
            case .close: open[record.session] = nil
            case .frame, .marker: open[record.session]?.last = record.timeMicros
            }
        }
        try current?.append(record)
    }

    func append(_ frame: FrameRecord) throws(RecordFormatError) {
        switch layout {
        case .single:
            try current?.append(frame)
        case .rotating:
            open[frame.session]?.last = frame.timeMicros
            try current?.append(frame)
        case .perSession:
            guard let writer = sessionFiles[frame.session] else {
                recordsWithoutFile += 1
                return
            }
            try writer.append(frame)
        }
    }

    private func appendPerSession(_ record: Record) throws(RecordFormatError) {
        guard record.session != 0 else { return }  // file-level markers belong to no session's file
        if case .open(let body) = record.body, sessionFiles[record.session] == nil,
            !unrecorded.contains(record.session), case .perSession(let directory) = layout
        {
            do throws(RecordFormatError) {
                sessionFiles[record.session] = try Self.createFirstFree(configuration: configuration, clock: clock) {
                    RecordFileName.perSession(directory: directory, open: body, session: record.session, attempt: $0)
                }
            } catch {
                unrecorded.insert(record.session)
                recordsWithoutFile += 1
                throw error
            }
        }
        guard let writer = sessionFiles[record.session] else {
            recordsWithoutFile += 1
            if case .close = record.body { unrecorded.remove(record.session) }
            return
        }
        if case .close = record.body { ending.append(record.session) }
        try writer.append(record)
    }

    /// Records that never reached the writer (see ``RecordFileWriter/noteLost(_:)``); call it after
    /// every batch.
    func noteLost(_ tally: RecordLossTally) throws(RecordFormatError) {
        guard case .perSession = layout else {
            try current?.noteLost(tally)
            return
        }
        var failure: RecordFormatError?
        for (session, part) in tally.bySession() {
            guard let writer = sessionFiles[session] else {
                recordsWithoutFile += Int(clamping: part.records)
                continue
            }
            do throws(RecordFormatError) {
                try writer.noteLost(part)
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
    }

    /// Seals blocks that are old enough, closes the files of sessions that ended, and rotates
    /// when it is due. Call it after every batch and from a timer.
    func sealIfDue() throws(RecordFormatError) {
        var failure: RecordFormatError?
        for session in ending {
            if let writer = sessionFiles.removeValue(forKey: session) { finish(writer) }
        }
        ending.removeAll(keepingCapacity: true)
        for writer in sessionFiles.values {
            do throws(RecordFormatError) {
                try writer.sealIfDue()
            } catch {
                failure = failure ?? error
            }
        }
        do throws(RecordFormatError) {
            try current?.sealIfDue()
            try rotateIfDue()
        } catch {
            failure = failure ?? error
        }
        if let failure { throw failure }
    }

    private func rotateIfDue() throws(RecordFormatError) {
        guard case .rotating(let base, let rotation) = layout, let old = current else { return }
        let now = clock.wallMicros()
        switch rotation {
        case .size(let size): guard old.endOffset >= size else { return }
        case .interval: guard let boundary, now >= boundary else { return }
        }
        let monotonic = clock.monotonicNanos()
        guard monotonic >= retryRotationAt else { return }
        let next: RecordFileWriter
        do throws(RecordFormatError) {
            next = try Self.createFirstFree(configuration: configuration, clock: clock) { attempt in
                RecordFileName.rotated(base: base, wallMicros: now, attempt: attempt)
            }
        } catch {
            // Go on in the old file (its space for the index is reserved) and try again later.
            retryRotationAt = monotonic &+ Self.rotationRetryNanos
            var refusal = error
            refusal.message = "cannot start the next file, recording goes on in \(old.path): " + error.message
            rotationFailure = refusal
            return
        }
        let marker = UInt64(max(0, now))
        var failure: RecordFormatError?
        do throws(RecordFormatError) {
            try old.append(Record(session: 0, timeMicros: marker, body: .marker("recording continues in \(Self.name(next.path))")))
        } catch {
            failure = error
        }
        finish(old)
        current = next
        currentStart = 0
        boundary = rotation.nextBoundary(after: now)
        do throws(RecordFormatError) {
            try next.append(Record(session: 0, timeMicros: marker, body: .marker("recording continued from \(Self.name(old.path))")))
            for (session, state) in open.sorted(by: { $0.key < $1.key }) {
                try next.append(Record(session: session, timeMicros: state.last, body: .open(state.open)))
            }
            // Written at once: the new file's space for its tail (the open sessions' close records,
            // what a full disk will cost) is reserved with its first block, while there is room.
            try next.seal()
        } catch {
            failure = failure ?? error
        }
        if let failure { throw failure }
    }

    /// Why the last rotation failed (once; nil when it did not): reported apart from failed
    /// writes, which a full disk makes many of.
    func takeRotationFailure() -> RecordFormatError? {
        defer { rotationFailure = nil }
        return rotationFailure
    }

    private static func name(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// Closes `writer` and tells `onClosed`.
    private func finish(_ writer: RecordFileWriter) {
        var error: RecordFormatError?
        do throws(RecordFormatError) {
            try writer.close()
        } catch let failure {
            error = failure
        }
        closedBytes += writer.endOffset - min(writer.endOffset, writer === current ? currentStart : 0)
        closedGaps += writer.gapsWritten
        onClosed(ClosedRecordFile(path: writer.path, error: error))
    }

    /// Closes every file (index, trailer, fsync); the first error is thrown after all are closed.
    func close() throws(RecordFormatError) {
        var failure: RecordFormatError?
        for session in sessionFiles.keys.sorted() {
            if let writer = sessionFiles.removeValue(forKey: session) {
                finish(writer)
            }
        }
        if let current {
            var error: RecordFormatError?
            do throws(RecordFormatError) {
                try current.close()
            } catch let closing {
                error = closing
                failure = closing
            }
            closedBytes += current.endOffset - min(current.endOffset, currentStart)
            closedGaps += current.gapsWritten
            self.current = nil
            onClosed(ClosedRecordFile(path: current.path, error: error))
        }
        if let failure { throw failure }
    }
}
