/// Time arithmetic on recorded microseconds that cannot trap: a record's time is a U64 the
/// recording (or a request) chooses, and one near 2^64 must not kill the viewer.
extension UInt64 {
    /// `self + other`, or the largest value when that does not fit.
    func plusSaturating(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }

    /// `seconds` as microseconds: 0 for negative or NaN, the largest value past it.
    init(microsecondsSaturating seconds: Double) {
        let micros = seconds * 1e6
        guard micros >= 1 else {
            self = 0
            return
        }
        // 2^64 is the first Double that does not fit (UInt64(Double) traps there).
        self = micros < 18_446_744_073_709_551_616.0 ? UInt64(micros) : .max
    }
}
