import ArgumentParser
import RecordFormat
import RecordTools

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two recordings session by session.",
        discussion: """
            Each direction's byte stream is compared regardless of how it was split into frames; framing, \
            timing (with --timing-tolerance) and RFB messages (--rfb) on top. Exit 0 when the same, 1 when \
            different, 2 on trouble — like diff(1).
            """)

    @Argument(help: "Recording A (either format).") var a: String
    @Argument(help: "Recording B (either format).") var b: String
    @Option(help: "Compare only this session (same number in both).") var session: UInt32?
    @Option(name: .customLong("session-a"), help: "Session of A to compare with --session-b.") var sessionA: UInt32?
    @Option(name: .customLong("session-b"), help: "Session of B to compare with --session-a.") var sessionB: UInt32?
    @Option(help: "Also report frames delivered more than this much earlier or later (e.g. 50ms).")
    var timingTolerance: String?
    @Flag(help: "Compare client→target traffic as RFB (VNC) messages and name the types that differ.") var rfb = false
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        if (sessionA == nil) != (sessionB == nil) { throw ValidationError("--session-a and --session-b go together") }
        if session != nil && sessionA != nil { throw ValidationError("use --session or --session-a/--session-b") }
        if let timingTolerance, TimeSpec.micros(timingTolerance) == nil {
            throw ValidationError("--timing-tolerance \(timingTolerance): expected a duration such as 50ms")
        }
    }

    func run() throws {
        var options = RecordDiff.Options(rfb: rfb)
        if let session { options.pairs = [(session, session)] }
        if let sessionA, let sessionB { options.pairs = [(sessionA, sessionB)] }
        options.timingToleranceMicros = timingTolerance.flatMap(TimeSpec.micros)
        var progress: Progress?
        let report = try RecordDiff.compare(a, b, options: options) { done, total in
            if progress == nil { progress = Progress(label: "diff", total: total, enabled: !json) }
            progress?.update(done)
        }
        progress?.finish()
        for damage in report.damagesA { Output.standardError("wsrecord-inspect: warning: \(a): \(damage)") }
        for damage in report.damagesB { Output.standardError("wsrecord-inspect: warning: \(b): \(damage)") }
        var out = Output()
        let text = json ? RecordDiffFormatter.json(report, pathA: a, pathB: b) : RecordDiffFormatter.text(report, pathA: a, pathB: b)
        out.line(String(text.dropLast()))
        out.flush()
        if !report.isSame { throw ExitCode(ExitStatus.different) }
    }
}
