import ArgumentParser
import RecordFormat
import RecordTools

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print one line per record: time, session, direction, kind, length, preview.",
        discussion: """
            Reads our format and legacy Python websockify recordings. A truncated or damaged file dumps \
            every readable record, reports the damage on stderr and exits 3.
            """
    )

    @Argument(help: "The recording file.")
    var file: String

    @Flag(help: "JSON lines with keys session, time_us, from, kind, length (and more per kind).")
    var json = false

    @Flag(help: "With --json: include payload_b64.")
    var payload = false

    @Flag(help: "After each frame line, a full hex dump of its payload.")
    var hex = false

    @Flag(
        help: ArgumentHelp(
            "Decode the sessions as RFB (VNC): one line per RFB message with time, session, direction, stream offset and description.",
            discussion:
                "With --json, one JSON object per message. --direction, --from and --to pick messages; a message that cannot be followed is reported with its offset."
        ))
    var rfb = false

    @OptionGroup var filtering: FilterOptions

    @Flag(
        help: ArgumentHelp(
            "Keep reading the file as the writer appends to it (like tail -f): print the records of each block as it is sealed.",
            discussion:
                "Looks at the file every 0.1 s. Follows later runs appended to the file, and ends when the file is closed cleanly (it ends with its index and trailer) and no writer holds it; a legacy recording ends with its EOF line."
        ))
    var follow = false

    @Flag(help: "With --follow: do not end at a clean close, wait for the next run until interrupted (Ctrl-C).")
    var untilInterrupted = false

    func validate() throws {
        if rfb && (hex || payload) {
            throw ValidationError("--rfb prints RFB messages: it takes neither --hex nor --payload")
        }
        if untilInterrupted && !follow {
            throw ValidationError("--until-interrupted goes with --follow")
        }
    }

    func run() throws {
        let filter = try filtering.filter()
        let input = try DumpInput(path: file, follow: follow, untilInterrupted: untilInterrupted, progress: !json)
        if rfb { return try dumpRFB(input, filter: filter) }
        let formatter = RecordDumpFormatter(includePayload: payload)
        var out = Output()
        try input.forEach(flush: { out.flush() }) { entry in
            guard case .record(let record) = entry else {
                if case .gap(let gap) = entry { for line in gapLines(gap, filter: filter) { out.line(line) } }
                return
            }
            guard filter.accepts(record) else { return }
            out.line(json ? formatter.jsonLine(record) : formatter.textLine(record))
            if hex && !json { for line in formatter.hexLines(record) { out.line(line) } }
        }
        out.flush()
        try reportDamage(input)
    }

    /// `--rfb`: every record of the chosen sessions goes to the RFB parser (a message needs both
    /// sides' earlier bytes); direction and time pick the messages printed. A gap is shown as in
    /// `dump`, and the streams it lost bytes of are not followed past it.
    private func dumpRFB(_ input: DumpInput, filter: RecordFilter) throws {
        var formatter = RFBDumpFormatter()
        var out = Output()
        func print(_ lines: [RFBDumpFormatter.Line]) {
            for line in lines {
                if let direction = filter.direction, direction != line.direction { continue }
                if let from = filter.fromMicros, line.timeMicros < from { continue }
                if let to = filter.toMicros, line.timeMicros >= to { continue }
                out.line(json ? RFBDumpFormatter.json(line) : RFBDumpFormatter.text(line))
            }
        }
        try input.forEach(flush: { out.flush() }) { entry in
            switch entry {
            case .record(let record):
                if let session = filter.session, record.session != session { return }
                print(formatter.lines(for: record))
            case .gap(let gap):
                // The gap line as plain `dump` shows it, then where each stream it cut stops.
                for line in gapLines(gap, filter: filter) { out.line(line) }
                print(formatter.lines(for: gap).filter { filter.session == nil || $0.session == filter.session })
            }
        }
        print(formatter.finish())
        out.flush()
        try reportDamage(input)
    }

    /// A gap's lines (one per session it names that `filter` keeps), in text or JSON.
    private func gapLines(_ gap: RecordGap, filter: RecordFilter) -> [String] {
        json ? RecordGapFormatter.dumpJSONLines(gap, filter: filter) : RecordGapFormatter.dumpLines(gap, filter: filter)
    }

    private func reportDamage(_ source: DumpInput) throws {
        guard source.damages.isEmpty else {
            for damage in source.unshownDamages { Output.standardError("wsrecord-inspect: \(file): \(damage)") }
            Output.standardError("wsrecord-inspect: \(file): damaged; every readable record was dumped")
            throw ExitCode(ExitStatus.damaged)
        }
        if !source.gaps.isEmpty {
            Output.standardError(
                "wsrecord-inspect: \(file): incomplete: " + RecordGapFormatter.summary(source.gaps) + " while recording"
            )
            throw ExitCode(ExitStatus.damaged)
        }
    }
}
