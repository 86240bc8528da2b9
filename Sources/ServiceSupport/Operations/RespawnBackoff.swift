/// When to restart a wrapped program that exited (`--wrap-mode=respawn`).
///
/// A program that ran for at least ``stableAfter`` is restarted at once. One that exits sooner is
/// crashing: it is restarted after ``initialDelay``, doubled for each further quick exit in a row
/// up to ``maximumDelay``, so a program that cannot start costs a start every 30 s rather than a
/// busy loop. A run of at least ``stableAfter`` resets the count.
public struct RespawnBackoff: Sendable, Equatable {
    /// Delay after the first quick exit. Half a second: a program that died from a passing cause
    /// (a port still in TIME_WAIT) is back almost at once.
    public var initialDelay: Duration
    /// Longest delay between starts.
    public var maximumDelay: Duration
    /// A run at least this long counts as healthy. 10 s, as websockify 0.13's "3 starts within
    /// 10 s is too fast".
    public var stableAfter: Duration
    /// Quick exits in a row so far.
    public private(set) var quickExits = 0

    public init(
        initialDelay: Duration = .milliseconds(500),
        maximumDelay: Duration = .seconds(30),
        stableAfter: Duration = .seconds(10)
    ) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.stableAfter = stableAfter
    }

    /// How long to wait before the next start, given how long the run that just ended lasted.
    public mutating func delay(afterRunningFor uptime: Duration) -> Duration {
        if uptime >= stableAfter {
            quickExits = 0
            return .zero
        }
        quickExits += 1
        var delay = initialDelay
        for _ in 1..<quickExits {
            delay *= 2
            if delay >= maximumDelay { return maximumDelay }
        }
        return min(delay, maximumDelay)
    }
}
