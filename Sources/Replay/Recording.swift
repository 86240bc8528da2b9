import RecordFormat

/// A recording loaded for replay: its sessions and any damage found while reading it.
public struct Recording: Sendable {
    public var format: String
    public var sessions: [RecordedSession]
    /// Damage (truncated tail, corrupt blocks); the readable records are still there.
    public var damages: [String]
    /// Records whose time is out of range (one per session), moved to the time of the record of
    /// their session before them (``RecordTimeline``), so that pacing never waits for them.
    public var timeProblems: [String]
    /// Records the writer lost (gap blocks), one line per session: played around.
    public var gaps: [String] = []

    public init(format: String, sessions: [RecordedSession], damages: [String], timeProblems: [String] = []) {
        self.format = format
        self.sessions = sessions
        self.damages = damages
        self.timeProblems = timeProblems
    }

    /// Reads `path`. A file that cannot be opened throws ``LoadError/io``; one whose header is
    /// unreadable or that ends in the middle of everything throws ``LoadError/corrupt``.
    public static func load(path: String) throws(LoadError) -> Recording {
        let source: RecordSource
        do {
            source = try RecordSource(path: path)
        } catch {
            switch error.code {
            case .io, .invalidArgument, .notARecording, .unsupportedVersion: throw .io("\(error)")
            default: throw .corrupt("\(error)")
            }
        }
        var records: [Record] = []
        var damages: [String] = []
        var timeline = RecordTimeline()
        // Gap blocks with the number of records before them, found as reading passes them.
        var gaps: [(recordIndex: Int, gap: RecordGap)] = []
        func noteGaps() {
            for gap in source.gaps.dropFirst(gaps.count) { gaps.append((records.count, gap)) }
        }
        do {
            while var record = try source.nextRecord() {
                noteGaps()
                let placement = timeline.place(record, at: source.lastRecordLocation)
                if record.session != 0 && !placement.isOwnTime { record.timeMicros = placement.timeMicros }
                records.append(record)
            }
        } catch {
            damages.append("\(error)")
        }
        noteGaps()
        damages += source.damages.map { "\($0)" }
        var recording = Recording(
            format: source.format.rawValue, sessions: RecordedSession.sessions(from: records, gaps: gaps),
            damages: damages, timeProblems: timeline.outOfRange.map { "\($0.error(path: path))" })
        recording.gaps = gaps.flatMap { RecordGapFormatter.lines($0.gap) }
        return recording
    }

    public enum LoadError: Error, Sendable, CustomStringConvertible {
        case io(String)
        case corrupt(String)

        public var description: String {
            switch self {
            case .io(let text), .corrupt(let text): text
            }
        }
    }
}
