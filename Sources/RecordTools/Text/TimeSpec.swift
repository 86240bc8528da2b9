/// Durations on the command line: `10s`, `1.5s`, `250ms`, `120us`, `2m`, `1h`, or a bare number of
/// seconds. Returned in microseconds.
public enum TimeSpec {
    public static func micros(_ text: String) -> UInt64? {
        let units: [(String, Double)] = [("us", 1), ("µs", 1), ("ms", 1e3), ("s", 1e6), ("m", 60e6), ("h", 3600e6)]
        var number = Substring(text)
        var scale = 1e6
        for (suffix, value) in units where text.hasSuffix(suffix) {
            number = text.dropLast(suffix.count)
            scale = value
            break
        }
        guard let value = Double(number), value >= 0, value.isFinite, value * scale < 1.8e19 else { return nil }
        return UInt64((value * scale).rounded())
    }
}
