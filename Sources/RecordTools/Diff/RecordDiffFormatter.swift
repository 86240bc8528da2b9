import RFB
import RFBRules
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
            if let rfb = s.rfb, rfb.isUsable {
                line += rfbSummary(rfb) + (s.bytesDiffer ? "; bytes differ" : "; bytes same")
            } else if let d = s.divergence {
                line += "DIFFERENT from byte \(d.offset)"
            } else {
                line += "same"
            }
            line += " (A \(s.bytesA) bytes in \(s.framesA) frames, B \(s.bytesB) bytes in \(s.framesB) frames"
            if let framing = s.firstFramingDifference { line += "; framing differs from frame \(framing)" }
            line += ")"
            if let rfb = s.rfb, rfb.isUsable {
                if rfb.timingViolations > 0 {
                    line += "; timing: \(rfb.timingViolations) messages off by more than the tolerance (worst \(seconds(rfb.worstTimingMicros)))"
                }
            } else if s.timingViolations > 0 {
                line += "; timing: \(s.timingViolations) frame starts off by more than the tolerance (worst \(seconds(s.worstTimingMicros)))"
            }
            lines.append(line)
            if let rfb = s.rfb { lines += rfbDetails(rfb) }
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

    /// How many RFB differences a text report lists per stream (JSON lists what the report kept).
    public static let listedDifferences = 20

    /// `same RFB messages (52 compared, …)` or `RFB messages differ: 1 changed, …`.
    static func rfbSummary(_ rfb: RecordDiff.RFBComparison) -> String {
        var text: String
        if rfb.differenceCount == 0 {
            text = rfb.sender == .serverToClient ? "same RFB message structure" : "same RFB messages"
        } else {
            text =
                "RFB messages differ: \(rfb.changed) changed, \(rfb.onlyInA) only in A, \(rfb.onlyInB) only in B"
        }
        text += " (A \(rfb.comparedA), B \(rfb.comparedB) compared, \(rfb.matched) matched"
        if rfb.allowed > 0 { text += ", \(rfb.allowed) allowed by the rules" }
        let ignored = Set(rfb.ignoredA.keys).union(rfb.ignoredB.keys).sorted()
        if !ignored.isEmpty {
            text += "; ignored: "
                + ignored.map { "\($0) A \(rfb.ignoredA[$0] ?? 0) / B \(rfb.ignoredB[$0] ?? 0)" }.joined(separator: ", ")
        }
        return text + ")"
    }

    /// The lines under a stream: why RFB could not be followed, notes, then the differences.
    static func rfbDetails(_ rfb: RecordDiff.RFBComparison) -> [String] {
        var lines: [String] = []
        if !rfb.isUsable {
            lines.append("  RFB not followed to the end, compared as bytes: " + rfb.unfollowed.joined(separator: "; "))
        }
        for note in rfb.notes { lines.append("  note: \(note)") }
        if !rfb.aligned {
            lines.append("  note: too many differences to align the messages: after the common start they are paired by position")
        }
        guard rfb.isUsable else { return lines }
        for difference in rfb.differences.prefix(listedDifferences) { lines.append("  " + describe(difference, rfb.sender)) }
        let more = rfb.differenceCount - min(rfb.differences.count, listedDifferences)
        if more > 0 { lines.append("  … \(more) more difference" + (more == 1 ? "" : "s") + " (--json lists up to \(rfb.differences.count))") }
        return lines
    }

    /// `changed: KeyEvent 'o' (0x6f) down vs KeyEvent 'p' (0x70) down at message #12 (client offset 1234, 1.506 s / 1.498 s)`.
    static func describe(_ difference: RecordDiff.RFBComparison.Difference, _ sender: RFBDirection) -> String {
        let what: String
        switch (difference.a, difference.b) {
        case (let a?, let b?):
            what = "changed: " + contrast(a.message, b.message)
        case (let a?, nil):
            what = "only in A: \(a.message)"
        case (nil, let b?):
            what = "only in B: \(b.message)"
        case (nil, nil):
            return "\(difference.kind.rawValue)"
        }
        let items = [difference.a, difference.b].compactMap { $0 }
        func both<T: Equatable>(_ value: (RecordDiff.RFBComparison.Item) -> T, _ text: (T) -> String) -> String {
            let values = items.map(value)
            return values.dropFirst().allSatisfy { $0 == values[0] } ? text(values[0]) : values.map(text).joined(separator: " / ")
        }
        return what + " at message " + both(\.index) { "#\($0)" } + " (\(sender.senderName) offset "
            + both(\.offset) { String($0) } + ", " + items.map { shortSeconds($0.timeMicros) }.joined(separator: " / ") + ")"
    }

    /// `A vs B`, or for two SetEncodings what was added, removed and reordered.
    static func contrast(_ a: RFBMessage, _ b: RFBMessage) -> String {
        if case .setEncodings(let old) = a, case .setEncodings(let new) = b {
            return "SetEncodings differs: " + RFBMessageDifference.encodings(recorded: old, actual: new)
        }
        return "\(a) vs \(b)"
    }

    /// `1.506 s`: milliseconds are enough to find a message.
    static func shortSeconds(_ micros: UInt64) -> String {
        let millis = micros / 1000
        let fraction = String(millis % 1000)
        return "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction + " s"
    }

    /// The `rfb` member of a stream.
    static func rfbJSON(_ rfb: RecordDiff.RFBComparison) -> String {
        var o = RFBJSONObject()
        o.add("from", rfb.sender.senderName)
        o.add("compared_a", rfb.comparedA)
        o.add("compared_b", rfb.comparedB)
        o.add("matched", rfb.matched)
        o.add("allowed", rfb.allowed)
        func counts(_ ignored: [String: Int]) -> RFBJSONObject {
            var c = RFBJSONObject()
            for name in ignored.keys.sorted() { c.add(name, ignored[name] ?? 0) }
            return c
        }
        o.add("ignored_a", counts(rfb.ignoredA))
        o.add("ignored_b", counts(rfb.ignoredB))
        o.add("changed", rfb.changed)
        o.add("only_in_a", rfb.onlyInA)
        o.add("only_in_b", rfb.onlyInB)
        o.add("aligned", rfb.aligned)
        o.add("timing_violations", rfb.timingViolations)
        o.add("worst_timing_us", rfb.worstTimingMicros)
        o.add("unfollowed", strings: rfb.unfollowed)
        o.add("notes", strings: rfb.notes)
        func item(_ item: RecordDiff.RFBComparison.Item?) -> String {
            guard let item else { return "null" }
            var i = RFBJSONObject()
            i.add("index", item.index)
            i.add("offset", item.offset)
            i.add("time_us", item.timeMicros)
            i.add("record", item.record)
            i.add("description", item.message.description)
            i.add("message", item.message.json)
            return i.rendered
        }
        o.add(
            "differences",
            objects: rfb.differences.map { difference in
                var d = RFBJSONObject()
                d.add("kind", difference.kind.rawValue)
                d.add("a", json: item(difference.a))
                d.add("b", json: item(difference.b))
                d.add("text", describe(difference, rfb.sender))
                return d
            })
        return o.rendered
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
            f.append("\"rfb\":" + (s.rfb.map(rfbJSON) ?? "null"))
            streams.append("{" + f.joined(separator: ",") + "}")
        }
        return "{\"same\":\(report.isSame),\"a\":\(q(pathA)),\"b\":\(q(pathB)),\"streams\":[" + streams.joined(separator: ",")
            + "],\"only_in_a\":[\(report.onlyInA.map(String.init).joined(separator: ","))]"
            + ",\"only_in_b\":[\(report.onlyInB.map(String.init).joined(separator: ","))]"
            + ",\"close_differences\":[\(report.closeDifferences.map(q).joined(separator: ","))]}\n"
    }
}
