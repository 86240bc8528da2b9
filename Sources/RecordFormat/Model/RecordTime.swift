/// The wall-clock range in which tools place records, and overflow-free arithmetic on record
/// times (docs/record-format.md §4.3).
///
/// A record's time is a `u64` and a session's start an `i64`, both straight from the file: a block
/// with valid CRCs can still hold a time near 2^63 or 2^64, and adding or subtracting such values
/// overflows. Everything that puts records on a clock goes through here.
public enum RecordTime {
    /// 1970-01-01T00:00:00Z: no record is placed before the Unix epoch.
    public static let earliestWallMicros: Int64 = 0
    /// 9999-12-31T23:59:59.999999Z, the last instant of four-digit years (ISO 8601, RFC 3339).
    /// Records placed after it would need a monotonic clock that ran for thousands of years; such
    /// a time is damage that the CRCs did not catch. It also keeps sums and differences of placed
    /// times far from the `Int64` limits.
    public static let latestWallMicros: Int64 = 253_402_300_799_999_999

    /// True when `wall` lies in `earliestWallMicros ... latestWallMicros`.
    public static func isPlaceable(_ wall: Int64) -> Bool { wall >= earliestWallMicros && wall <= latestWallMicros }

    /// A session start (open record tag 1) moved into the placeable range.
    public static func clampedStart(_ start: Int64) -> Int64 { min(max(start, earliestWallMicros), latestWallMicros) }

    /// The wall-clock time of a record `time` µs after a session that started at `start` (which is
    /// clamped first), or nil when it falls after ``latestWallMicros``.
    public static func wall(start: Int64, time: UInt64) -> Int64? {
        let base = clampedStart(start)
        guard time <= UInt64(latestWallMicros - base) else { return nil }
        return base + Int64(time)
    }

    /// The wall-clock time of a session-0 record (whose time field is wall-clock µs), or nil when
    /// it is not placeable.
    public static func wall(fileLevelTime time: UInt64) -> Int64? {
        time <= UInt64(latestWallMicros) ? Int64(time) : nil
    }

    /// `start + time`, saturating at the `Int64` limits instead of trapping or wrapping: for values
    /// that are only stored, such as a block header's time range (§3.4).
    public static func saturatingSum(_ start: Int64, _ time: UInt64) -> Int64 {
        guard start < 0 else {
            let (sum, overflow) = UInt64(start).addingReportingOverflow(time)
            return overflow ? Int64.max : Int64(clamping: sum)
        }
        // start + time = time − |start|, which needs no more than 64 bits either way.
        let magnitude = start.magnitude
        return time >= magnitude ? Int64(clamping: time - magnitude) : -Int64(magnitude - time - 1) - 1
    }
}
