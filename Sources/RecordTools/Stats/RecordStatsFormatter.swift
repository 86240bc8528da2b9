import RecordFormat

/// Renders ``RecordStats`` as the text and JSON of `wsrecord-inspect stats` (docs/wsrecord-inspect.md).
public enum RecordStatsFormatter {
    /// A summary paragraph, a table with one row per session, and the markers.
    public static func text(_ stats: RecordStats) -> String {
        var lines: [String] = []
        let sessionCount = stats.sessions.count
        var head = "\(stats.path): \(stats.format.rawValue) recording, \(stats.records) records, "
        head += plural(sessionCount, "session") + ", " + plural(stats.markers.count, "marker")
        lines.append(head)
        var payload =
            "  payload: \(plural(Int(stats.frames), "frame")), \(stats.payloadBytes) bytes in \(stats.fileBytes) file bytes"
        if let permille = stats.fileToPayloadPermille {
            payload += " (file/payload \(decimal(permille, places: 3)))"
        }
        lines.append(payload)
        if let blocks = stats.blocks {
            var line = "  blocks: \(blocks.blocks) (\(blocks.deflatedBlocks) deflated, \(blocks.storedBlocks) stored), "
            line += "\(blocks.rawBytes) raw → \(blocks.storedBytes) stored payload bytes"
            if blocks.rawBytes > 0 {
                line += " (\(decimal((blocks.storedBytes * 1000 + blocks.rawBytes / 2) / blocks.rawBytes, places: 3)))"
            }
            lines.append(line)
        } else if stats.fileCount > 1 {
            lines.append("  blocks: not summed over \(stats.fileCount) files (stats of one file gives its own)")
        } else {
            lines.append("  blocks: none (legacy format)")
        }
        var peaks: [String] = []
        for direction in Direction.allCases {
            let peak = stats.peak(direction)
            var text = "\(arrow(direction)) \(peak.bytes) B"
            if let start = peak.windowStartWallMicros { text += " from " + wallText(start, stats) }
            peaks.append(text)
        }
        lines.append("  peak in any 1 s window: " + peaks.joined(separator: ", "))
        if !stats.sessions.isEmpty {
            lines.append("")
            var table = TextTable(columns: [
                ("session", .right), ("start (UTC)", .left), ("duration", .right), ("client", .left),
                ("target", .left), ("closed by", .left), ("code", .right), ("c→t frames", .right),
                ("c→t bytes", .right), ("t→c frames", .right), ("t→c bytes", .right),
            ])
            for session in stats.sessions {
                table.add([
                    String(session.session),
                    session.startWallMicros == 0
                        ? "unknown" : TextEncoding.isoDate(wallMicros: session.startWallMicros),
                    TextEncoding.seconds(micros: session.durationMicros) + " s",
                    session.open.map { $0.clientAddress.isEmpty ? "-" : $0.clientAddress } ?? "-",
                    session.open?.target.displayString ?? "unknown",
                    session.close.map(\.closedBy.name) ?? "(open)",
                    session.close?.code.map { String($0) } ?? "-",
                    String(session.clientToTarget.frames), String(session.clientToTarget.bytes),
                    String(session.targetToClient.frames), String(session.targetToClient.bytes),
                ])
            }
            lines += table.render()
        }
        if !stats.markers.isEmpty {
            lines.append("")
            lines.append("markers:")
            for marker in stats.markers {
                let time =
                    RecordTime.isPlaceable(marker.wallMicros)
                    ? TextEncoding.isoDate(wallMicros: marker.wallMicros) : "(time out of range)"
                lines.append("  " + time + "  " + marker.text)
            }
        }
        if !stats.gaps.isEmpty {
            lines.append("")
            lines.append("gaps: " + RecordGapFormatter.summary(stats.gaps) + " while recording")
            for gap in stats.gaps { lines += RecordGapFormatter.lines(gap).map { "  " + $0 } }
        }
        for damage in stats.damages { lines.append("  DAMAGE \(damage)") }
        for problem in stats.timeProblems { lines.append("  TIME \(problem)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object (no trailing newline).
    public static func json(_ stats: RecordStats) -> String {
        var fields: [(String, String)] = [
            ("file", TextEncoding.jsonString(stats.path)),
            ("format", TextEncoding.jsonString(stats.format.rawValue)),
            ("file_bytes", String(stats.fileBytes)),
            ("records", String(stats.records)),
            ("frames", String(stats.frames)),
            ("payload_bytes", String(stats.payloadBytes)),
            ("file_to_payload", stats.fileToPayloadPermille.map { decimal($0, places: 3) } ?? "null"),
        ]
        if let blocks = stats.blocks {
            fields.append(
                (
                    "blocks",
                    object([
                        ("total", String(blocks.blocks)), ("stored", String(blocks.storedBlocks)),
                        ("deflated", String(blocks.deflatedBlocks)), ("raw_bytes", String(blocks.rawBytes)),
                        ("stored_bytes", String(blocks.storedBytes)),
                    ])
                ))
        } else {
            fields.append(("blocks", "null"))
        }
        var peaks: [(String, String)] = []
        for direction in Direction.allCases {
            let peak = stats.peak(direction)
            peaks.append(
                (
                    direction.senderName,
                    object([
                        ("bytes", String(peak.bytes)),
                        ("window_start_us", peak.windowStartWallMicros.map { String($0) } ?? "null"),
                    ])
                ))
        }
        fields.append(("peak_1s", object(peaks)))
        let sessions = stats.sessions.map { session -> String in
            var entry: [(String, String)] = [
                ("session", String(session.session)),
                ("start_wall_us", String(session.startWallMicros)),
                (
                    "start",
                    session.startWallMicros == 0
                        ? "null" : quoted(TextEncoding.isoDate(wallMicros: session.startWallMicros))
                ),
                ("duration_us", String(session.durationMicros)),
                ("client", session.open.map { quoted($0.clientAddress) } ?? "null"),
                ("listen", session.open.map { quoted($0.listenAddress) } ?? "null"),
                ("target", quoted(session.open?.target.displayString ?? "unknown")),
                ("closed", session.close == nil ? "false" : "true"),
                ("closed_by", session.close.map { quoted($0.closedBy.name) } ?? "null"),
                ("close_code", session.close?.code.map { String($0) } ?? "null"),
                ("close_reason", session.close.map { quoted($0.reason) } ?? "null"),
            ]
            for direction in Direction.allCases {
                let totals = session.totals(direction)
                entry.append(("\(direction.senderName)_frames", String(totals.frames)))
                entry.append(("\(direction.senderName)_bytes", String(totals.bytes)))
            }
            return object(entry)
        }
        fields.append(("sessions", "[" + sessions.joined(separator: ",") + "]"))
        let markers = stats.markers.map {
            object([("wall_us", String($0.wallMicros)), ("text", quoted($0.text))])
        }
        fields.append(("markers", "[" + markers.joined(separator: ",") + "]"))
        fields.append(("gaps", "[" + stats.gaps.map(RecordGapFormatter.json).joined(separator: ",") + "]"))
        let damage = stats.damages.map { RecordDumpFormatter.jsonDamage($0, path: stats.path) }
        fields.append(("damage", "[" + damage.joined(separator: ",") + "]"))
        let times = stats.timeProblems.map { RecordDumpFormatter.jsonTimeFinding($0, path: stats.path) }
        fields.append(("time_problems", "[" + times.joined(separator: ",") + "]"))
        return object(fields)
    }

    /// `value / 10^places` with exactly `places` decimals, e.g. `decimal(1250, places: 3)` = `1.250`.
    static func decimal(_ value: UInt64, places: Int) -> String {
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let fraction = String(value % scale)
        return "\(value / scale)." + String(repeating: "0", count: places - fraction.count) + fraction
    }

    private static func wallText(_ wall: Int64, _ stats: RecordStats) -> String {
        // Sessions imported without a wall-clock start are counted from 1970; say so.
        wall < 86_400_000_000
            ? "+" + TextEncoding.seconds(micros: UInt64(max(0, wall))) + " s (start unknown)"
            : TextEncoding.isoDate(wallMicros: wall)
    }

    private static func arrow(_ direction: Direction) -> String { direction == .clientToTarget ? "c→t" : "t→c" }
    private static func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
    private static func quoted(_ text: String) -> String { TextEncoding.jsonString(text) }
    private static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}
