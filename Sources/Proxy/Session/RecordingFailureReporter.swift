/// Decides what to log when the recording cannot write (disk full, quota, file-size limit), so that
/// a disk that stays full gives a few lines a minute, not one per dropped block (up to one per MiB
/// recorded). Pure: time comes in as nanoseconds of a monotonic clock.
///
/// The first failure is reported at once, with its error. Failures within ``interval`` of a report
/// are only counted; the first failure after the interval reports them in a summary, and so does
/// ``finish(at:)`` when the recording closes with failures still held back. The file itself says
/// exactly what was lost (its gap blocks); the log only has to say that, and how often.
public struct RecordingFailureReporter: Sendable, Equatable {
    /// What to log, with the error of the failure that made it due.
    public enum Notice: Sendable, Equatable {
        /// The first failure after a quiet interval: log its error as it is.
        case failed
        /// `failures` failures over the `nanoseconds` since the previous report (those held back
        /// and, unless the recording is closing, this one).
        case summary(failures: Int, nanoseconds: UInt64)
        /// Blocks reach the file again after `failures` failed writes over `nanoseconds` (from the
        /// first failure of the outage).
        case recovered(failures: Int, nanoseconds: UInt64)
    }

    /// The least time between two reports. One minute: a disk that stays full is named once a
    /// minute, and an operator still sees that it goes on.
    public let interval: UInt64
    private var lastReport: UInt64?
    /// Failures since the last report (not reported yet).
    private var unreported = 0

    public init(interval: UInt64 = 60_000_000_000) {
        self.interval = interval
    }

    /// The first failure of the current outage and the failures since (reset when writes succeed).
    private var outageStart: UInt64?
    private var outageFailures = 0

    /// A recording write failed at `now`: the notice to log, if one is due.
    public mutating func failed(at now: UInt64) -> Notice? {
        if outageStart == nil { outageStart = now }
        outageFailures += 1
        if let last = lastReport, now &- last < interval {
            unreported += 1
            return nil
        }
        defer {
            lastReport = now
            unreported = 0
        }
        guard let last = lastReport, unreported > 0 else { return .failed }
        return .summary(failures: unreported + 1, nanoseconds: now &- last)
    }

    /// A block reached the file again at `now`: one notice per outage, whatever was held back is
    /// included in its count (so nothing is summarised twice).
    public mutating func writing(at now: UInt64) -> Notice? {
        guard let start = outageStart else { return nil }
        defer {
            outageStart = nil
            outageFailures = 0
            unreported = 0
            lastReport = nil  // the next outage is named at once
        }
        return .recovered(failures: outageFailures, nanoseconds: now &- start)
    }

    /// The recording is closing at `now`: a summary of the failures held back, if any.
    public mutating func finish(at now: UInt64) -> Notice? {
        guard let last = lastReport, unreported > 0 else { return nil }
        defer {
            lastReport = now
            unreported = 0
        }
        return .summary(failures: unreported, nanoseconds: now &- last)
    }

    /// The log line for `notice`; `error` describes the failure that made it due (for a summary
    /// at close, the last failure).
    public static func message(for notice: Notice, error: String) -> String {
        switch notice {
        case .failed:
            return "recording: \(error)"
        case .summary(let failures, let nanoseconds):
            let seconds = nanoseconds / 1_000_000_000
            return
                "recording: \(failures) more write(s) failed in the last \(seconds) s, records lost (the file's gap blocks say which); the last: \(error)"
        case .recovered(let failures, let nanoseconds):
            let seconds = nanoseconds / 1_000_000_000
            return
                "recording: writing again after \(failures) failed write(s) over \(seconds) s (the file's gap blocks say what was lost)"
        }
    }
}
