import RFBDecoding
import RecordFormat

extension SessionPlayback {
    /// The moments of a series: `from`, `from + every`, … up to `to` or the session's last record.
    public struct Series: Sendable, Equatable {
        public var everyMicros: UInt64
        public var fromMicros: UInt64
        public var toMicros: UInt64?

        public init(everyMicros: UInt64, fromMicros: UInt64 = 0, toMicros: UInt64? = nil) {
            precondition(everyMicros > 0, "a series needs a step")
            self.everyMicros = everyMicros
            self.fromMicros = fromMicros
            self.toMicros = toMicros
        }
    }

    /// Calls `body` with each moment of `series` and the screen then, in time order, decoding the
    /// session once. Moments before the server's first screen are passed with nil.
    public func forEach(
        _ series: Series, _ body: (_ micros: UInt64, _ screen: RFBFramebuffer?) throws -> Void
    ) throws {
        var time = series.fromMicros
        while series.toMicros.map({ time <= $0 }) ?? true {
            let screen = try screen(at: time)
            if let end = endMicros, time > end { break }
            try body(time, screen)
            let (next, overflow) = time.addingReportingOverflow(series.everyMicros)
            if overflow { break }
            time = next
        }
    }

    /// The time of the session's last record, read without decoding (a second pass over the file
    /// that leaves this playback where it is).
    public func lastTime() throws(RenderError) -> UInt64 {
        if let endMicros { return endMicros }
        do {
            let scan = try SessionRecords(path: path, session: session)
            try scan.rewind()
            var last: UInt64 = 0
            while let entry = try scan.next() {
                let time = Self.time(of: entry)
                if Self.isPlaceable(time, start: open.startWallMicros) { last = max(last, time) }
            }
            return last
        } catch {
            throw RenderError("\(error)")
        }
    }
}
