#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Decides what to log when the listener cannot accept connections (out of descriptors, EMFILE or
/// ENFILE) and when it can again, so that a saturated server logs a few lines a minute, not one per
/// failed `accept(2)`. Pure: time comes in as nanoseconds of a monotonic clock.
///
/// The first failure is reported at once; failures within ``interval`` of a report are only
/// counted and go into the next report. The first connection accepted after a report is reported
/// too, with what was missed: at most one "cannot accept" and one "accepting again" line per
/// interval, however often the server swings around its limit.
struct AcceptFailureReporter: Sendable, Equatable {
    /// What to log.
    enum Notice: Sendable, Equatable {
        /// `accept` failed with `errno`; `failures` counts the failures this report covers (this
        /// one and those that were held back since the previous report).
        case cannotAccept(errno: Int32, failures: Int)
        /// A connection was accepted again after `failures` failed attempts, the first of which
        /// was `nanoseconds` ago.
        case acceptingAgain(failures: Int, nanoseconds: UInt64)
    }

    /// The least time between two "cannot accept" reports. One minute: long enough that a server
    /// held at its limit does not fill the log, short enough that an operator sees it goes on.
    let interval: UInt64
    private var lastReport: UInt64?
    /// Failures since the last report (not reported yet).
    private var unreported = 0
    /// Failures since the last accepted connection, and when the first of them happened.
    private var failuresSinceAccept = 0
    private var firstFailure: UInt64 = 0
    /// Whether a "cannot accept" report is still waiting for its "accepting again".
    private var owesRecovery = false

    init(interval: UInt64 = 60_000_000_000) {
        self.interval = interval
    }

    /// An `accept` failed with `errno` at `now`: the notice to log, if one is due.
    mutating func failed(errno: Int32, at now: UInt64) -> Notice? {
        if failuresSinceAccept == 0 { firstFailure = now }
        failuresSinceAccept += 1
        unreported += 1
        if let last = lastReport, now &- last < interval { return nil }
        lastReport = now
        owesRecovery = true
        defer { unreported = 0 }
        return .cannotAccept(errno: errno, failures: unreported)
    }

    /// A connection was accepted at `now`: the notice to log, if this ends a reported stretch of failures.
    mutating func accepted(at now: UInt64) -> Notice? {
        defer { failuresSinceAccept = 0 }
        guard owesRecovery, failuresSinceAccept > 0 else { return nil }
        owesRecovery = false
        return .acceptingAgain(failures: failuresSinceAccept, nanoseconds: now &- firstFailure)
    }

    /// The log line for `notice`. `limit` is the soft RLIMIT_NOFILE, `sessions` the sessions open,
    /// `retry` how long accepting pauses after a failure.
    static func message(for notice: Notice, limit: UInt64?, sessions: Int, retry: UInt64) -> String {
        switch notice {
        case .cannotAccept(let number, let failures):
            let retryMillis = retry / 1_000_000
            let held = failures > 1 ? " (\(failures) failed attempts since the last report)" : ""
            return
                "cannot accept connections: \(cause(of: number, limit: limit)); \(sessions) session(s) open. New connections wait in the listen backlog; accepting is retried every \(retryMillis) ms\(held)"
        case .acceptingAgain(let failures, let nanoseconds):
            let seconds = Double(nanoseconds / 1_000_000) / 1000
            return "accepting connections again after \(failures) failed attempt(s) over \(seconds) s"
        }
    }

    /// Why `accept` failed, naming the limit that was hit and where it is raised.
    static func cause(of number: Int32, limit: UInt64?) -> String {
        switch number {
        case EMFILE:
            let value = limit.map { "\($0)" } ?? "unknown"
            return
                "too many open files (EMFILE): this process's open-file limit (RLIMIT_NOFILE) is \(value); raise it with ulimit -n or LimitNOFILE= in the systemd unit"
        case ENFILE:
            return "the system's open-file table is full (ENFILE); see fs.file-max (sysctl)"
        case ENOBUFS, ENOMEM:
            return "out of memory for sockets (\(number == ENOBUFS ? "ENOBUFS" : "ENOMEM"))"
        default:
            return "\(String(cString: strerror(number))) (errno \(number))"
        }
    }

    /// The soft RLIMIT_NOFILE now, nil if it cannot be read or is unlimited.
    static func openFileLimit() -> UInt64? {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0, limits.rlim_cur != rlim_t.max else {
            return nil
        }
        return UInt64(limits.rlim_cur)
    }
}
