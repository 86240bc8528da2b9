import RecordFormat

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
