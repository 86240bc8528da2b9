import RecordFormat

/// Text and JSON for `wsrecord-inspect diff`.
public enum RecordDiffFormatter {
    static func arrow(_ direction: Direction) -> String {
        direction == .clientToTarget ? "client→target" : "target→client"
    }

    static func pair(_ s: RecordDiff.StreamResult) -> String {
        s.sessionA == s.sessionB ? "session \(s.sessionA)" : "session \(s.sessionA)↔\(s.sessionB)"
    }

    static func seconds(_ micros: UInt64) -> String {
        let fraction = String(micros % 1_000_000)
        return "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction + " s"
    }

    static func hexRow(_ bytes: [UInt8], start: UInt64, mark: UInt64) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = ""
        for (i, byte) in bytes.enumerated() {
            let here = start + UInt64(i)
            let hex = String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
            out += here == mark ? "[\(hex)]" : " \(hex) "
        }
        let printable = String(decoding: bytes.map { (0x20...0x7E).contains($0) ? $0 : 0x2E }, as: UTF8.self)
        return out + " |\(printable)|"
    }

    /// The human report: one line per stream, sessions missing on one side, close differences,
    /// the first divergence in detail, and a summary line.
    public static func text(_ report: RecordDiff.Report, pathA: String, pathB: String) -> String {
        var lines = ["--- A: \(pathA)", "+++ B: \(pathB)"]
        for s in report.streams {
            var line = "\(pair(s)) \(arrow(s.direction)): "
            if s.comparedAsRFB {
                if s.rfbDifferences.isEmpty {
                    line += "same RFB messages"
                } else {
                    line += "RFB messages differ: "
                        + s.rfbDifferences.map { "\($0.type) (A \($0.countA), B \($0.countB), first at #\($0.firstDifference))" }
                        .joined(separator: ", ")
                }
                line += s.bytesDiffer ? "; bytes differ" : "; bytes same"
            } else if let d = s.divergence {
                line += "DIFFERENT from byte \(d.offset)"
            } else {
                line += "same"
            }
            line += " (A \(s.bytesA) bytes in \(s.framesA) frames, B \(s.bytesB) bytes in \(s.framesB) frames"
            if let framing = s.firstFramingDifference { line += "; framing differs from frame \(framing)" }
            line += ")"
            if s.timingViolations > 0 {
                line += "; timing: \(s.timingViolations) frame starts off by more than the tolerance (worst \(seconds(s.worstTimingMicros)))"
            }
            lines.append(line)
        }
        for session in report.onlyInA { lines.append("session \(session): only in A") }
        for session in report.onlyInB { lines.append("session \(session): only in B") }
        for difference in report.closeDifferences { lines.append("close differs: \(difference)") }
        if let first = report.firstDivergence, let d = first.divergence {
            lines.append("first divergence: \(pair(first)) \(arrow(first.direction)) at byte \(d.offset)")
            func place(_ record: Int?, _ time: UInt64?) -> String {
                guard let record, let time else { return "(stream ended)" }
                return "record \(record) at \(seconds(time))"
            }
            lines.append("  A: \(place(d.recordA, d.timeA))")
            lines.append("  B: \(place(d.recordB, d.timeB))")
            lines.append("  A @\(d.contextStart): " + hexRow(d.contextA, start: d.contextStart, mark: d.offset))
            lines.append("  B @\(d.contextStart): " + hexRow(d.contextB, start: d.contextStart, mark: d.offset))
        }
        let differing = report.streams.filter { !$0.isSame }.count
        var summary = "summary: \(report.streams.count) streams compared, \(differing) differ"
        if !report.onlyInA.isEmpty || !report.onlyInB.isEmpty {
            summary += ", \(report.onlyInA.count + report.onlyInB.count) sessions on one side only"
        }
        if !report.closeDifferences.isEmpty { summary += ", \(report.closeDifferences.count) closes differ" }
        lines.append(summary + (report.isSame ? " — same" : " — different"))
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object for machines.
    public static func json(_ report: RecordDiff.Report, pathA: String, pathB: String) -> String {
        func q(_ s: String) -> String { RecordDumpFormatter.jsonQuoted(s) }
        func hex(_ bytes: [UInt8]) -> String {
            q(bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined())
        }
        func opt<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "null" }
        var streams: [String] = []
        for s in report.streams {
            var f = [
                "\"session_a\":\(s.sessionA)", "\"session_b\":\(s.sessionB)",
                "\"direction\":\(q(s.direction == .clientToTarget ? "client_to_target" : "target_to_client"))",
                "\"same\":\(s.isSame)", "\"bytes_a\":\(s.bytesA)", "\"bytes_b\":\(s.bytesB)",
                "\"frames_a\":\(s.framesA)", "\"frames_b\":\(s.framesB)",
                "\"first_framing_difference\":\(opt(s.firstFramingDifference))",
                "\"timing_violations\":\(s.timingViolations)", "\"worst_timing_us\":\(s.worstTimingMicros)",
                "\"compared_as_rfb\":\(s.comparedAsRFB)",
            ]
            if let d = s.divergence {
                f.append(
                    "\"divergence\":{\"offset\":\(d.offset),\"record_a\":\(opt(d.recordA)),\"time_us_a\":\(opt(d.timeA)),"
                        + "\"record_b\":\(opt(d.recordB)),\"time_us_b\":\(opt(d.timeB)),\"context_start\":\(d.contextStart),"
                        + "\"context_a_hex\":\(hex(d.contextA)),\"context_b_hex\":\(hex(d.contextB))}")
            } else {
                f.append("\"divergence\":null")
            }
            f.append(
                "\"rfb_differences\":["
                    + s.rfbDifferences.map {
                        "{\"type\":\(q($0.type)),\"count_a\":\($0.countA),\"count_b\":\($0.countB),\"first_difference\":\($0.firstDifference)}"
                    }.joined(separator: ",") + "]")
            streams.append("{" + f.joined(separator: ",") + "}")
        }
        return "{\"same\":\(report.isSame),\"a\":\(q(pathA)),\"b\":\(q(pathB)),\"streams\":[" + streams.joined(separator: ",")
            + "],\"only_in_a\":[\(report.onlyInA.map(String.init).joined(separator: ","))]"
            + ",\"only_in_b\":[\(report.onlyInB.map(String.init).joined(separator: ","))]"
            + ",\"close_differences\":[\(report.closeDifferences.map(q).joined(separator: ","))]}\n"
    }
}
