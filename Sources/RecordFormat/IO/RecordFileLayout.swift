/// Which files a ``BackgroundRecorder`` writes.
public enum RecordFileLayout: Sendable, Equatable {
    /// One file, appended to when it exists (`--record FILE`).
    case single(path: String)
    /// A series of new files `BASE-YYYYmmddTHHMMSS.rec`, the next one started when `rotation` says
    /// (`--record FILE --record-rotate SIZE|DURATION`); see ``RecordFileName/rotated(base:wallMicros:attempt:)``.
    case rotating(base: String, rotation: RecordRotation)
    /// A new file per session in `directory` (`--record-dir DIR --record-per-session`); see
    /// ``RecordFileName/perSession(directory:open:session:attempt:)``.
    case perSession(directory: String)
}

/// A file of a recording that was closed: once it is, nothing writes into it any more.
public struct ClosedRecordFile: Sendable, Equatable {
    public var path: String
    /// Why closing it was not clean (e.g. the index could not be written), nil when it was.
    public var error: RecordFormatError?

    public init(path: String, error: RecordFormatError? = nil) {
        self.path = path
        self.error = error
    }
}
