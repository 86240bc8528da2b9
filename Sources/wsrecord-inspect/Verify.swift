import ArgumentParser
import RecordFormat

#if canImport(Glibc)
import Glibc
#endif

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every block of a recording (CRC-32, decompression, records, index).",
        discussion: "Exit 0 when every block checks out, 3 when the file is truncated or has corrupt blocks, 2 on trouble."
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
            var text = "{\"file\":\(jsonQuote(file)),\"ok\":\(report.isClean),\"blocks\":\(report.blocks)"
            text += ",\"records\":\(report.records),\"sessions\":\(report.sessions.count)"
            text += ",\"payload_bytes\":\(report.payloadBytes),\"file_bytes\":\(report.fileSize),\"index\":\(report.hasIndex)"
            text += ",\"damage\":[" + report.damages.map { RecordDumpFormatter.jsonDamage($0, path: file) }.joined(separator: ",")
            text += "],\"problems\":[" + report.problems.map(jsonQuote).joined(separator: ",") + "]}"
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
            if report.isClean {
                out.line("OK")
            } else {
                out.line("DAMAGED: \(report.records) records are still readable")
            }
        }
        out.flush()
        if !report.isClean { throw ExitCode(ExitStatus.damaged) }
    }
}

private func jsonQuote(_ text: String) -> String { RecordDumpFormatter.jsonQuoted(text) }
