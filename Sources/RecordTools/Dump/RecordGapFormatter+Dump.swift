import RecordFormat

extension RecordGapFormatter {
    /// `dump` lines: one per session of the gap, in the columns of ``RecordDumpFormatter/textLine(_:)``
    /// (time since the session's start of its first lost record, session, kind `gap`, bytes lost).
    public static func dumpLines(_ gap: RecordGap, filter: RecordFilter = RecordFilter()) -> [String] {
        gap.sessions.filter { accepts($0, filter) }.map { loss in
            let time =
                loss.session == 0
                ? TextEncoding.isoDate(wallMicros: Int64(clamping: loss.firstTimeMicros))
                : TextEncoding.seconds(micros: loss.firstTimeMicros)
            return pad(time, 12) + " s" + pad(String(loss.session), 3, left: false) + " ·   "
                + pad("gap", 12, left: false)
                + pad(String(loss.payloadBytes), 8) + "  \(count(loss.records, "record")) lost until "
                + (loss.session == 0
                    ? TextEncoding.isoDate(wallMicros: Int64(clamping: loss.lastTimeMicros))
                    : TextEncoding.seconds(micros: loss.lastTimeMicros) + " s")
                + directions(loss) + "; " + why(gap)
        }
    }

    /// `dump --json` lines: one per session of the gap, with `kind` `gap`, `length` the payload
    /// bytes lost, and the session's entry of ``json(_:)``.
    public static func dumpJSONLines(_ gap: RecordGap, filter: RecordFilter = RecordFilter()) -> [String] {
        gap.sessions.filter { accepts($0, filter) }.map { loss in
            object([
                ("session", String(loss.session)), ("time_us", String(loss.firstTimeMicros)), ("kind", "\"gap\""),
                ("length", String(loss.payloadBytes)), ("records", String(loss.records)),
                ("client_frames", String(loss.clientToTarget.frames)),
                ("client_bytes", String(loss.clientToTarget.bytes)),
                ("target_frames", String(loss.targetToClient.frames)),
                ("target_bytes", String(loss.targetToClient.bytes)),
                ("last_time_us", String(loss.lastTimeMicros)), ("first_wall_us", String(loss.firstWallMicros)),
                ("last_wall_us", String(loss.lastWallMicros)),
                ("causes", "[" + gap.causes.names.map(TextEncoding.jsonString).joined(separator: ",") + "]"),
                ("detail", TextEncoding.jsonString(gap.detail)),
            ])
        }
    }

    /// Whether `dump`'s filter keeps a session's entry: its session, a direction it lost frames
    /// of, and a time window it overlaps.
    static func accepts(_ loss: RecordGap.SessionLoss, _ filter: RecordFilter) -> Bool {
        if let session = filter.session, loss.session != session { return false }
        if loss.session == 0 { return filter.direction == nil && filter.fromMicros == nil && filter.toMicros == nil }
        if let direction = filter.direction, loss.totals(direction).frames == 0 { return false }
        if let from = filter.fromMicros, loss.lastTimeMicros < from { return false }
        if let to = filter.toMicros, loss.firstTimeMicros >= to { return false }
        return true
    }
}
