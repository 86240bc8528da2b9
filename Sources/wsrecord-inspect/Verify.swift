import ArgumentParser
import RecordFormat
import RecordTools

#if canImport(Glibc)
import Glibc
#endif

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every block of a recording (CRC-32, decompression, records, index).",
        discussion: """
            Exit 0 when every block checks out, 3 when the file is truncated, has corrupt blocks, holds a \
            record whose time is out of range (after 9999-12-31) or has gaps (records the writer lost, e.g. \
            to a full disk: each is named with its session, records, bytes and time), 2 on trouble. Times that run backwards \
            within a session are a WARNING only.
            """
    )

    @Argument(help: "The recording file.")
    var file: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let (progress, done) = Progress.callback(label: "verify", enabled: !json)
        let report = try RecordVerifier.verify(path: file, progress: progress)
        done()
        var out = Output()
        if json {
            var text = "{\"file\":\(jsonQuote(file)),\"ok\":\(report.isClean && report.isComplete),\"blocks\":\(report.blocks)"
            text += ",\"records\":\(report.records),\"sessions\":\(report.sessions.count)"
            text += ",\"payload_bytes\":\(report.payloadBytes),\"file_bytes\":\(report.fileSize),\"index\":\(report.hasIndex)"
            text += ",\"damage\":[" + report.damages.map { RecordDumpFormatter.jsonDamage($0, path: file) }.joined(separator: ",")
            text += "],\"problems\":[" + report.problems.map(jsonQuote).joined(separator: ",") + "]"
            let findings = report.timeProblems + report.timeWarnings
            text += ",\"times\":[" + findings.map { RecordDumpFormatter.jsonTimeFinding($0, path: file) }.joined(separator: ",") + "]"
            text += ",\"gaps\":[" + report.gaps.map(RecordGapFormatter.json).joined(separator: ",") + "]}"
            out.line(text)
        } else {
            let h = report.header
            out.line("\(file): format \(h.major).\(h.minor), written by \(h.producerName) \(h.producerVersion)")
            out.line(
                "  \(report.blocks) blocks (\(report.deflatedBlocks) deflated, \(report.storedBlocks) stored), "
                    + "\(report.records) records, \(report.sessions.count) sessions, "
                    + "\(report.payloadBytes) payload bytes in \(report.fileSize) file bytes")
            out.line("  index: " + (report.hasIndex ? "present and consistent" : "missing (readers rebuild it by scanning)"))
            for damage in report.damages { out.line("  DAMAGE \(damage)") }
            for problem in report.problems { out.line("  PROBLEM \(problem)") }
            for gap in report.gaps {
                for line in RecordGapFormatter.lines(gap) { out.line("  GAP " + line) }
            }
            for warning in report.timeWarnings { out.line("  WARNING \(warning)") }
            let lost = report.isComplete ? "" : "; " + RecordGapFormatter.summary(report.gaps) + " while recording"
            if !report.isClean {
                out.line("DAMAGED: \(report.records) records are still readable" + lost)
            } else if !report.isComplete {
                out.line("INCOMPLETE: \(report.records) records are readable" + lost)
            } else {
                out.line("OK")
            }
        }
        out.flush()
        if !report.isClean || !report.isComplete { throw ExitCode(ExitStatus.damaged) }
    }
}

private func jsonQuote(_ text: String) -> String { RecordDumpFormatter.jsonQuoted(text) }
