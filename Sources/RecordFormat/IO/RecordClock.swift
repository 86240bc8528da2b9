#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The two clocks a recording needs, injectable so time-based behaviour is tested without sleeping.
public protocol RecordClock: Sendable {
    /// Wall-clock time, microseconds since the Unix epoch (UTC).
    func wallMicros() -> Int64
    /// A monotonic clock, nanoseconds from an arbitrary origin.
    func monotonicNanos() -> UInt64
}

/// The system's `CLOCK_REALTIME` and `CLOCK_MONOTONIC`.
public struct SystemRecordClock: RecordClock {
    public init() {}

    public func wallMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    public func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
