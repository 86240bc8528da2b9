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

/// Which records a command looks at: a session, a direction, a time window (µs since the start
/// of each session; file-level markers are kept only without a session filter).
public struct RecordFilter: Sendable {
    public var session: UInt32?
    public var direction: Direction?
    public var fromMicros: UInt64?
    public var toMicros: UInt64?

    public init(session: UInt32? = nil, direction: Direction? = nil, fromMicros: UInt64? = nil, toMicros: UInt64? = nil) {
        self.session = session
        self.direction = direction
        self.fromMicros = fromMicros
        self.toMicros = toMicros
    }

    public var isEmpty: Bool { session == nil && direction == nil && fromMicros == nil && toMicros == nil }

    public func accepts(_ record: Record) -> Bool {
        if let session, record.session != session { return false }
        if record.session == 0 { return direction == nil && fromMicros == nil && toMicros == nil }
        if let direction {
            guard case .frame(let frame) = record.body, frame.direction == direction else { return false }
        }
        if let fromMicros, record.timeMicros < fromMicros { return false }
        if let toMicros, record.timeMicros >= toMicros { return false }
        return true
    }
}
