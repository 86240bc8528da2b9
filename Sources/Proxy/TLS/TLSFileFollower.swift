import ServiceSupport

/// Decides when the certificate, key and CA files are read again, from their stamps, with no I/O:
/// time comes in as nanoseconds, stamps as values (``TLSServer`` does the `stat`s and the reading).
///
/// - New connections look at the files at most once per ``checkInterval``; a SIGHUP looks at once.
/// - Files whose stamps equal those of the version in service are not read again.
/// - A version that could not be used (garbage, a key that doesn't match, a half-written file) is
///   reported once and not retried until a stamp changes again; the version in service stays.
///   A SIGHUP retries and reports whatever it finds, since someone asked.
///
/// The stamps recorded for a version are the ones taken *before* its files were read, so a file that
/// changed while being read is read again at the next check.
struct TLSFileFollower: Sendable {
    /// One entry per followed file, in ``TLSServerSettings/followedFiles`` order; nil when `stat` failed.
    typealias Stamps = [FileStamp?]

    /// What to do with the stamps just taken.
    enum Decision: Equatable, Sendable {
        /// Keep the version in service: nothing changed, or this broken version was already reported.
        case keep
        /// Read the files and build a new context.
        case load
    }

    /// How often new connections may cost a `stat` of the files: certificates change seldom, and a
    /// renewal may take a second to be seen.
    static let checkInterval: UInt64 = 1_000_000_000

    /// Stamps of the version in service.
    private(set) var inService: Stamps
    /// Stamps of the last version that failed to load (already reported), if any since.
    private(set) var rejected: Stamps?
    private var lastCheck: UInt64

    init(inService: Stamps, at now: UInt64) {
        self.inService = inService
        self.lastCheck = now
    }

    /// A new connection at `now`: whether it should look at the files first (at most once per
    /// ``checkInterval``; the look counts as done from now on).
    mutating func connectionShouldCheck(at now: UInt64) -> Bool {
        guard now &- lastCheck >= Self.checkInterval else { return false }
        lastCheck = now
        return true
    }

    /// The files' stamps were just taken; `forced` for a SIGHUP.
    func decide(_ observed: Stamps, forced: Bool) -> Decision {
        if forced { return .load }
        if observed == inService || observed == rejected { return .keep }
        return .load
    }

    /// The version with stamps `observed` loaded and is now in service.
    mutating func loaded(_ observed: Stamps) {
        inService = observed
        rejected = nil
    }

    /// The version with stamps `observed` could not be used; returns whether to report it (the first
    /// time for this version, or always when `forced`).
    mutating func failed(_ observed: Stamps, forced: Bool) -> Bool {
        defer { rejected = observed }
        return forced || observed != rejected
    }
}
