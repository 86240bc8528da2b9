/// When a rotated recording (`websockify --record-rotate`) closes its file and starts the next.
///
/// A size rotates once the file has reached it, after the block that reached it (a block is never
/// split between files), so a file ends up at most one block (about 1 MiB) and its index over the
/// size. A duration rotates at whole multiples of it since the Unix epoch (UTC), as dumpcap's
/// `-b interval:` and Prometheus' blocks do: with `1h` every file holds one clock hour (the first
/// one what is left of the hour the recording started in), whatever time the process started.
public enum RecordRotation: Sendable, Equatable {
    /// Rotate once the file has at least this many bytes.
    case size(UInt64)
    /// Rotate at every whole multiple of this many microseconds of wall-clock time.
    case interval(micros: Int64)

    /// The smallest size accepted: smaller files would hold a block or two each.
    public static let minimumSize: UInt64 = 64 << 10
    /// The shortest interval accepted.
    public static let minimumMicros: Int64 = 1_000_000

    /// Parses `2MB`, `512KiB`, `1GiB` (SI units are powers of 1000, IEC units of 1024; `B` or no
    /// unit is bytes), or `30s`, `15m`, `1h`, `1d`. Whole numbers only.
    public static func parse(_ text: String) throws(RecordFormatError) -> RecordRotation {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        func refuse(_ why: String) -> RecordFormatError {
            RecordFormatError(.invalidArgument, "'\(text)' \(why)")
        }
        guard !digits.isEmpty, let number = UInt64(digits) else {
            throw refuse("is not a size (e.g. 512KiB, 2MB, 1GiB) or a duration (e.g. 30s, 15m, 1h)")
        }
        if let seconds = Self.secondUnits[String(unit)] {
            let (micros, overflow) = number.multipliedReportingOverflow(by: seconds * 1_000_000)
            guard !overflow, micros <= UInt64(Int64.max) else { throw refuse("is too long") }
            guard Int64(micros) >= minimumMicros else { throw refuse("is too short: rotate at most once a second") }
            return .interval(micros: Int64(micros))
        }
        guard let scale = Self.sizeUnits[unit.lowercased()] else {
            throw refuse("has an unknown unit '\(unit)': sizes take B, kB, KiB, MB, MiB, GB, GiB, TB, TiB; durations s, m, h, d")
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: scale)
        guard !overflow else { throw refuse("is too large") }
        guard bytes >= minimumSize else { throw refuse("is too small: rotate at 64KiB or more") }
        return .size(bytes)
    }

    private static let secondUnits: [String: UInt64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
    private static let sizeUnits: [String: UInt64] = [
        "": 1, "b": 1, "kb": 1000, "kib": 1 << 10, "mb": 1_000_000, "mib": 1 << 20, "gb": 1_000_000_000, "gib": 1 << 30,
        "tb": 1_000_000_000_000, "tib": 1 << 40,
    ]

    /// For an interval: the first boundary after `wallMicros`.
    func nextBoundary(after wallMicros: Int64) -> Int64? {
        guard case .interval(let length) = self else { return nil }
        let floor = wallMicros >= 0 ? wallMicros / length : (wallMicros - length + 1) / length
        let (next, overflow) = (floor + 1).multipliedReportingOverflow(by: length)
        return overflow ? Int64.max : next
    }
}
