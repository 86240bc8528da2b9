import ArgumentParser
import RFBRules
import RecordFormat
import RecordTools

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two recordings session by session.",
        discussion: """
            Each direction's byte stream is compared regardless of how it was split into frames; framing and \
            timing (with --timing-tolerance) on top. With --rfb, sessions are compared as RFB (VNC) messages \
            instead: the client's message by message, leaving out what wsreplay leaves out \
            (FramebufferUpdateRequest and PointerEvent, unless --rules say otherwise), and the server's by \
            structure (message types, rectangles' geometry and encodings, pseudo-rectangles), not by \
            compressed pixel bytes; differences are listed as decoded messages. Exit 0 when the same, 1 \
            when different, 2 on trouble — like diff(1) — and 3 when a file is damaged or has gaps (what \
            could be read is still compared).
            """)

    @Argument(help: "Recording A (either format).") var a: String
    @Argument(help: "Recording B (either format).") var b: String
    @Option(help: "Compare only this session (same number in both).") var session: UInt32?
    @Option(name: .customLong("session-a"), help: "Session of A to compare with --session-b.") var sessionA: UInt32?
    @Option(name: .customLong("session-b"), help: "Session of B to compare with --session-a.") var sessionB: UInt32?
    @Option(help: "Also report frames delivered more than this much earlier or later (e.g. 50ms).")
    var timingTolerance: String?
    @Option(help: "Compare only what this side sent: client or target.") var direction: FilterOptions.Side?
    @Flag(help: "Compare the sessions as RFB (VNC) messages: client messages whole, server messages by structure.")
    var rfb = false
    @Option(
        name: .customLong("allow"),
        help: ArgumentHelp(
            "With --rfb: differences in messages of this type are expected (SetEncodings:superset: additions only).",
            valueName: "NAME[:MODE]"))
    var allow: [String] = []
    @Option(
        name: .customLong("ignore"),
        help: ArgumentHelp("With --rfb: leave this message type out on both sides.", valueName: "NAME"))
    var ignore: [String] = []
    @Option(
        name: .customLong("rules"),
        help: ArgumentHelp("With --rfb: a rules file (JSON or YAML), as wsreplay's --rules.", valueName: "FILE"))
    var rulesFile: String?
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        if (sessionA == nil) != (sessionB == nil) { throw ValidationError("--session-a and --session-b go together") }
        if session != nil && sessionA != nil { throw ValidationError("use --session or --session-a/--session-b") }
        if let timingTolerance, TimeSpec.micros(timingTolerance) == nil {
            throw ValidationError("--timing-tolerance \(timingTolerance): expected a duration such as 50ms")
        }
        if !rfb && (!allow.isEmpty || !ignore.isEmpty || rulesFile != nil) {
            throw ValidationError("--allow, --ignore and --rules apply to RFB messages: add --rfb")
        }
    }

    func run() throws {
        var options = RecordDiff.Options(rfb: rfb)
        options.direction = direction.map { $0 == .client ? .clientToTarget : .targetToClient }
        do {
            options.rules = try RFBRuleSet.parse(allow: allow, ignore: ignore, rulesFile: rulesFile)
        } catch {
            // Said like an unreadable recording: what is wrong, in which option or file.
            Output.standardError("wsrecord-inspect: \(error)")
            throw ExitCode(ExitStatus.trouble)
        }
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
        for (file, gaps) in [(a, report.gapsA), (b, report.gapsB)] where !gaps.isEmpty {
            Output.standardError(
                "wsrecord-inspect: \(file): incomplete: " + RecordGapFormatter.summary(gaps) + " while recording")
        }
        var out = Output()
        let text = json ? RecordDiffFormatter.json(report, pathA: a, pathB: b) : RecordDiffFormatter.text(report, pathA: a, pathB: b)
        out.line(String(text.dropLast()))
        out.flush()
        // A damaged file was compared as far as it could be read: that comes first (see Exit status).
        if !report.damagesA.isEmpty || !report.damagesB.isEmpty || !report.gapsA.isEmpty || !report.gapsB.isEmpty {
            throw ExitCode(ExitStatus.damaged)
        }
        if !report.isSame { throw ExitCode(ExitStatus.different) }
    }
}
