/// Places a recording's records on the clock, in file order (docs/record-format.md §4.3), and notes
/// what it cannot place: times out of range; and sessions whose times run backwards or that have
/// records after their close record (beyond the session's span).
///
/// A record out of range is placed at the time of the previous record of its session that could
/// be placed (the session start when there is none), so that tools which put records on a clock
/// (stats, plots, pcapng export, replay pacing) go on with the rest of the file and never do
/// arithmetic on the out-of-range value.
public struct RecordTimeline: Sendable {
    /// Where a record goes.
    public struct Placement: Sendable, Equatable {
        /// µs since the session start as placed (for session 0: the record's own time field).
        public var timeMicros: UInt64
        /// Wall-clock µs as placed; nil for a session-0 record out of range (no session to place it in).
        public var wallMicros: Int64?
        /// False when the record's own time was out of range and it was placed elsewhere.
        public var isOwnTime: Bool
    }

    /// Something about the times of one session, with the first record it concerns.
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            /// A time (or a session start) outside the range tools place records in.
            case outOfRange = "out-of-range"
            /// A time earlier than the time of the session's record before it.
            case backwards
            /// A record that comes after its session's close record in the file.
            case afterClose = "after-close"
        }

        public var kind: Kind
        public var session: UInt32
        /// The first record concerned, where known.
        public var location: RecordLocation?
        /// Its time field (µs; wall-clock µs for session 0).
        public var timeMicros: UInt64
        /// `backwards`: the time of the record before it; `afterClose`: the time of the close record.
        /// `outOfRange` of an open record whose
        /// start is the problem: nil, and ``startWallMicros`` holds the start.
        public var previousMicros: UInt64?
        public var startWallMicros: Int64?
        /// Records of the session concerned (the first one included).
        public var count: Int

        /// What is wrong, without the file name.
        public var message: String {
            var text = session == 0 ? "file-level record" : "session \(session)"
            if let index = location?.indexInBlock { text += ", record \(index) of the block" }
            text += ": "
            let earliest = TextEncoding.isoDate(wallMicros: RecordTime.earliestWallMicros)
            let latest = TextEncoding.isoDate(wallMicros: RecordTime.latestWallMicros)
            switch kind {
            case .outOfRange:
                if let start = startWallMicros {
                    text += "start time \(start) µs since 1970 is outside \(earliest) … \(latest); "
                        + "taken as the nearer of the two"
                } else if session == 0 {
                    text += "wall-clock time \(timeMicros) µs since 1970 is after \(latest)"
                } else {
                    text += "time \(timeMicros) µs since the session start is out of range (after \(latest)); "
                        + "taken as the time of the session's record before it"
                }
            case .backwards:
                text += "time runs backwards: \(TextEncoding.seconds(micros: timeMicros)) s after "
                    + "\(TextEncoding.seconds(micros: previousMicros ?? 0)) s"
            case .afterClose:
                text += "a record at \(TextEncoding.seconds(micros: timeMicros)) s comes after the session's close "
                    + "record (at \(TextEncoding.seconds(micros: previousMicros ?? 0)) s)"
            }
            if count > 1 { text += " (\(count) records of this session)" }
            return text
        }

        /// The finding as an error naming `path` and the byte offset of the record's block or line.
        public func error(path: String) -> RecordFormatError {
            RecordFormatError(.timeOutOfRange, message, path: path, offset: location?.offset)
        }

        public var description: String { (location.map { "at byte \($0.offset): " } ?? "") + message }
    }

    private struct Key: Hashable {
        var kind: Finding.Kind
        var session: UInt32
    }

    private var starts: [UInt32: Int64] = [:]
    /// Per session, the time of the last record that could be placed.
    private var lastPlaced: [UInt32: UInt64] = [:]
    /// Per session, the time of its close record once it has been met.
    private var closedAt: [UInt32: UInt64] = [:]
    private var positions: [Key: Int] = [:]
    /// In the order first met.
    public private(set) var findings: [Finding] = []

    public init() {}

    /// Records out of range (one finding per session).
    public var outOfRange: [Finding] { findings.filter { $0.kind == .outOfRange } }
    /// Sessions whose times run backwards, or with records after their close (one finding per
    /// session and kind): what `verify` warns about.
    public var warnings: [Finding] { findings.filter { $0.kind != .outOfRange } }

    /// Where `record`, the next record of the file, goes; `location` names it in findings.
    public mutating func place(_ record: Record, at location: RecordLocation?) -> Placement {
        if record.session == 0 {
            guard let wall = RecordTime.wall(fileLevelTime: record.timeMicros) else {
                note(.outOfRange, record, location)
                return Placement(timeMicros: record.timeMicros, wallMicros: nil, isOwnTime: false)
            }
            return Placement(timeMicros: record.timeMicros, wallMicros: wall, isOwnTime: true)
        }
        if case .open(let open) = record.body {
            starts[record.session] = open.startWallMicros
            closedAt[record.session] = nil
            if !RecordTime.isPlaceable(open.startWallMicros) {
                note(.outOfRange, record, location, start: open.startWallMicros)
            }
        } else if let closed = closedAt[record.session] {
            note(.afterClose, record, location, previous: closed)
        }
        let start = starts[record.session] ?? 0
        let previous = lastPlaced[record.session]
        let placement: Placement
        if let wall = RecordTime.wall(start: start, time: record.timeMicros) {
            if let previous, record.timeMicros < previous { note(.backwards, record, location, previous: previous) }
            lastPlaced[record.session] = record.timeMicros
            placement = Placement(timeMicros: record.timeMicros, wallMicros: wall, isOwnTime: true)
        } else {
            note(.outOfRange, record, location)
            let time = previous ?? 0
            placement = Placement(
                timeMicros: time, wallMicros: RecordTime.wall(start: start, time: time) ?? RecordTime.latestWallMicros,
                isOwnTime: false)
        }
        if case .close = record.body { closedAt[record.session] = placement.timeMicros }
        return placement
    }

    private mutating func note(
        _ kind: Finding.Kind, _ record: Record, _ location: RecordLocation?, previous: UInt64? = nil,
        start: Int64? = nil
    ) {
        let key = Key(kind: kind, session: record.session)
        if let position = positions[key] {
            findings[position].count += 1
            return
        }
        positions[key] = findings.count
        findings.append(
            Finding(
                kind: kind, session: record.session, location: location, timeMicros: record.timeMicros,
                previousMicros: previous, startWallMicros: start, count: 1))
    }
}
