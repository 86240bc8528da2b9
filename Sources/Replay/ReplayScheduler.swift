/// Decides when each recorded target→client frame goes out. Pure: it is given the time and how far
/// the client has come, and answers what to do next, so pacing is tested without sleeping.
///
/// Recorded times map onto the clock through an anchor: frame time `t` is due at
/// `anchorNanos + (t − anchorMicros)·1000 / speed`. With client sync, a frame recorded after a client
/// message waits until the client has sent it; if that made the replay late, the anchor moves so that
/// the client message's recorded time maps to the moment it arrived, and later frames keep their
/// recorded spacing from it.
public struct ReplayScheduler: Sendable {
    public enum Pacing: Sendable, Equatable {
        /// Recorded offsets divided by this factor (1 = real time).
        case speed(Double)
        /// As fast as the client reads.
        case fast
    }

    /// One frame to send.
    public struct Item: Sendable, Equatable {
        /// When it was recorded, µs since the session started.
        public var timeMicros: UInt64
        /// How many client units must have been matched before it is sent.
        public var requiredUnits: Int
        /// The recorded time of the last of those units (µs), for re-anchoring after a wait.
        public var requiredAtMicros: UInt64

        public init(timeMicros: UInt64, requiredUnits: Int = 0, requiredAtMicros: UInt64 = 0) {
            self.timeMicros = timeMicros
            self.requiredUnits = requiredUnits
            self.requiredAtMicros = requiredAtMicros
        }
    }

    public enum Decision: Sendable, Equatable {
        /// Send item `index` now; `scheduledNanos` is when it was due (nil with `.fast`).
        case send(index: Int, scheduledNanos: UInt64?)
        /// Nothing is due before this time.
        case sleep(untilNanos: UInt64)
        /// The client must have sent `required` units first; give up at `untilNanos`.
        case waitForClient(required: Int, untilNanos: UInt64)
        /// The client is not reading; wait until it is writable.
        case waitForWritable
        /// The client did not catch up in time: client sync is now off for this session.
        case clientTimedOut(required: Int)
        /// Every item was sent.
        case finished
    }

    public let items: [Item]
    public let pacing: Pacing
    public private(set) var syncToClient: Bool
    public let waitTimeoutNanos: UInt64
    public private(set) var nextIndex = 0
    private var anchorNanos: UInt64
    private var anchorMicros: UInt64
    private var waitingSince: UInt64?

    /// `startMicros`: the recorded time at which the session starts in its file, mapped to
    /// `startNanos` — 0 for a session that opens in it, its open record's time for one continued
    /// from an earlier file of a rotated recording (docs/record-format.md §7.1: such a session's
    /// clock does not start at 0; playing from 0 would open with that much silence).
    public init(
        items: [Item], pacing: Pacing, syncToClient: Bool, waitTimeoutNanos: UInt64, startNanos: UInt64,
        startMicros: UInt64 = 0
    ) {
        self.items = items
        self.pacing = pacing
        self.syncToClient = syncToClient
        self.waitTimeoutNanos = waitTimeoutNanos
        self.anchorNanos = startNanos
        self.anchorMicros = startMicros
    }

    /// When recorded time `micros` is due on the clock; `UInt64.max` (never) when that lies beyond
    /// what the clock can count (times come from the file: any `u64`, any speed).
    public func due(_ micros: UInt64) -> UInt64 {
        guard case .speed(let speed) = pacing, micros > anchorMicros else { return anchorNanos }
        let delta = Double(micros - anchorMicros) * 1000 / speed
        // 9e18 ns is some 285 years, and converts to UInt64 exactly enough.
        guard delta.isFinite, delta < 9e18 else { return .max }
        return Self.later(anchorNanos, by: UInt64(delta.rounded()))
    }

    /// `nanos + delta`, saturating at `UInt64.max` (never) instead of trapping.
    static func later(_ nanos: UInt64, by delta: UInt64) -> UInt64 {
        let (sum, overflow) = nanos.addingReportingOverflow(delta)
        return overflow ? .max : sum
    }

    /// What to do at `nowNanos`, with `clientUnits` units matched and the client `clientWritable`.
    public mutating func next(nowNanos now: UInt64, clientUnits: Int, clientWritable: Bool) -> Decision {
        guard nextIndex < items.count else { return .finished }
        let item = items[nextIndex]
        if syncToClient, clientUnits < item.requiredUnits {
            if waitingSince == nil { waitingSince = now }
            // The timeout counts from when the client's message was due, not from when we started waiting.
            let deadline = Self.later(max(waitingSince!, due(item.requiredAtMicros)), by: waitTimeoutNanos)
            if now >= deadline {
                waitingSince = nil
                syncToClient = false
                return .clientTimedOut(required: item.requiredUnits)
            }
            return .waitForClient(required: item.requiredUnits, untilNanos: deadline)
        }
        if waitingSince != nil {
            waitingSince = nil
            if case .speed = pacing, now > due(item.requiredAtMicros) {
                anchorNanos = now
                anchorMicros = item.requiredAtMicros
            }
        }
        guard clientWritable else { return .waitForWritable }
        switch pacing {
        case .fast:
            nextIndex += 1
            return .send(index: nextIndex - 1, scheduledNanos: nil)
        case .speed:
            let due = due(item.timeMicros)
            guard now >= due else { return .sleep(untilNanos: due) }
            nextIndex += 1
            return .send(index: nextIndex - 1, scheduledNanos: due)
        }
    }

    /// Stops waiting for the client (after a divergence): play by the clock from now on.
    public mutating func stopSyncing() {
        syncToClient = false
        waitingSince = nil
    }

    /// Waits for the client again after ``Decision/clientTimedOut(required:)``, when what timed
    /// out turned out not to matter (a message the rules let be missing).
    public mutating func resumeSyncing() {
        syncToClient = true
    }
}
