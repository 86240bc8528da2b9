import RecordFormat

/// The records of one session of a recording in file order, from either format (ours, or the
/// legacy Python websockify recording as one session), that can go back to any record it gave:
/// what keyframes resume from.
final class SessionRecords {
    /// Where a record is, to come back to it: its block and place in it (ours), or its place in
    /// the converted legacy recording.
    enum Position: Sendable, Hashable {
        case block(offset: UInt64, index: Int)
        case legacy(Int)
    }

    enum Entry {
        case record(Record, Position)
        /// The writer lost records of this session here.
        case lost(RecordGap.SessionLoss)
    }

    let path: String
    let session: UInt32
    let format: RecordSource.Format
    private let native: RecordFileReader?
    private let legacy: [Record]
    private var legacyNext = 0
    /// Gaps of the reader already looked at.
    private var gapsSeen = 0
    /// After a seek: the first record of the block that is the one wanted.
    private var skipTo: (offset: UInt64, index: Int)?

    init(path: String, session: UInt32) throws(RecordFormatError) {
        self.path = path
        self.session = session
        let source = try RecordSource(path: path)
        format = source.format
        switch source.format {
        case .native:
            native = try RecordFileReader(path: path)
            legacy = []
        case .legacy:
            native = nil
            legacy = try source.readAll()
            damages = source.damages
        }
    }

    /// Damage found so far (reported; the readable records are used).
    private(set) var damages: [Damage] = []

    /// The next record of the session (or a loss naming it), nil at the end of the file.
    func next() throws(RecordFormatError) -> Entry? {
        guard let native else {
            while legacyNext < legacy.count {
                defer { legacyNext += 1 }
                if legacy[legacyNext].session == session { return .record(legacy[legacyNext], .legacy(legacyNext)) }
            }
            return nil
        }
        while true {
            let record = try native.nextRecord()
            damages = native.damages
            while gapsSeen < native.gaps.count {
                defer { gapsSeen += 1 }
                if let loss = native.gaps[gapsSeen].sessions.first(where: { $0.session == session }) { return .lost(loss) }
            }
            guard let record, let location = native.lastRecordLocation, let index = location.indexInBlock else { return nil }
            if let skip = skipTo {
                if location.offset == skip.offset, index < skip.index { continue }
                skipTo = nil
            }
            if record.session == session { return .record(record, .block(offset: location.offset, index: index)) }
        }
    }

    /// Goes to the session's first block (ours: found through the file's index), so that the
    /// open record comes soon.
    func rewind() throws(RecordFormatError) {
        legacyNext = 0
        guard let native else { return }
        gapsSeen = native.gaps.count
        skipTo = nil
        if try !native.seek(session: session, toTime: 0) { native.seek(toBlockAt: 0) }
    }

    /// Goes back (or on) to `position`: the next ``next()`` gives the record there.
    func seek(to position: Position) {
        switch position {
        case .legacy(let index):
            legacyNext = index
        case .block(let offset, let index):
            guard let native else { return }
            native.seek(toBlockAt: offset)
            gapsSeen = native.gaps.count
            skipTo = (offset, index)
        }
    }
}
