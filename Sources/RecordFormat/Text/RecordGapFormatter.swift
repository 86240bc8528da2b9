/// Renders ``RecordGap``s the way `verify`, `stats` and `wsreplay` show them (docs/wsrecord-inspect.md);
/// `dump`'s lines are RecordTools' (`RecordGapFormatter+Dump.swift`).
public enum RecordGapFormatter {
    /// One line per session that lost records, e.g. `1523 records / 157286400 bytes of session 1
    /// lost at 2026-12-06T04:20:01.000000Z … 2026-12-06T04:20:09.000000Z (t→c 1523 frames); a
    /// block could not be written: No space left on device`. Records the gap counts but names no
    /// session for get one more line, for "other sessions".
    public static func lines(_ gap: RecordGap) -> [String] {
        var lines = gap.sessions.map { loss in
            let whose = loss.session == 0 ? "file-level markers" : "session \(loss.session)"
            return "\(count(loss.records, "record")) / \(count(loss.payloadBytes, "byte")) of \(whose) lost at "
                + range(loss.firstWallMicros, loss.lastWallMicros) + directions(loss) + "; " + why(gap)
        }
        let listed = gap.sessions.reduce((records: UInt64(0), bytes: UInt64(0))) {
            ($0.records &+ $1.records, $0.bytes &+ $1.payloadBytes)
        }
        if gap.records > listed.records || gap.payloadBytes > listed.bytes || gap.sessions.isEmpty {
            lines.append(
                "\(count(gap.records &- listed.records, "record")) / \(count(gap.payloadBytes &- listed.bytes, "byte")) of other sessions "
                    + "lost at " + range(gap.firstWallMicros, gap.lastWallMicros) + "; " + why(gap))
        }
        return lines
    }

    /// Records and payload bytes over `gaps`.
    public static func totals(_ gaps: [RecordGap]) -> (records: UInt64, bytes: UInt64) {
        gaps.reduce((UInt64(0), UInt64(0))) { ($0.0 &+ $1.records, $0.1 &+ $1.payloadBytes) }
    }

    /// A one-line summary of `gaps`, e.g. `3 records (400 bytes) lost in 1 gap`.
    public static func summary(_ gaps: [RecordGap]) -> String {
        let (records, bytes) = totals(gaps)
        return
            "\(count(records, "record")) (\(count(bytes, "payload byte"))) lost in \(count(UInt64(gaps.count), "gap"))"
    }

    /// One JSON object (keys in docs/wsrecord-inspect.md).
    public static func json(_ gap: RecordGap) -> String {
        let sessions = gap.sessions.map { loss in
            object([
                ("session", String(loss.session)), ("records", String(loss.records)),
                ("client_frames", String(loss.clientToTarget.frames)),
                ("client_bytes", String(loss.clientToTarget.bytes)),
                ("target_frames", String(loss.targetToClient.frames)),
                ("target_bytes", String(loss.targetToClient.bytes)),
                ("first_time_us", String(loss.firstTimeMicros)), ("last_time_us", String(loss.lastTimeMicros)),
                ("first_wall_us", String(loss.firstWallMicros)), ("last_wall_us", String(loss.lastWallMicros)),
            ])
        }
        return object([
            ("causes", "[" + gap.causes.names.map(TextEncoding.jsonString).joined(separator: ",") + "]"),
            ("detail", TextEncoding.jsonString(gap.detail)), ("records", String(gap.records)),
            ("payload_bytes", String(gap.payloadBytes)), ("first_wall_us", String(gap.firstWallMicros)),
            ("last_wall_us", String(gap.lastWallMicros)), ("sessions", "[" + sessions.joined(separator: ",") + "]"),
        ])
    }

    private static func range(_ first: Int64, _ last: Int64) -> String {
        let start = first == 0 ? "an unknown time" : TextEncoding.isoDate(wallMicros: first)
        return last > first ? start + " … " + TextEncoding.isoDate(wallMicros: last) : start
    }

    package static func directions(_ loss: RecordGap.SessionLoss) -> String {
        var parts: [String] = []
        for direction in Direction.allCases {
            let totals = loss.totals(direction)
            guard totals.frames > 0 else { continue }
            parts.append("\(direction == .clientToTarget ? "c→t" : "t→c") \(count(totals.frames, "frame"))")
        }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
    }

    package static func why(_ gap: RecordGap) -> String {
        gap.detail.isEmpty ? gap.causes.text : gap.causes.text + ": " + gap.detail
    }

    package static func count(_ value: UInt64, _ noun: String) -> String {
        "\(value) \(noun)\(value == 1 ? "" : "s")"
    }

    package static func pad(_ text: String, _ width: Int, left: Bool = true) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return left ? fill + text : text + fill
    }

    package static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}
