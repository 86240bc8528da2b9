import ArgumentParser
import RecordFormat

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

    @OptionGroup var filtering: FilterOptions

    func run() throws {
        let filter = try filtering.filter()
        let source = try RecordSource(path: file)
        let formatter = RecordDumpFormatter(includePayload: payload)
        var out = Output()
        let progress = Progress(label: "dump", total: source.fileSize, enabled: !json)
        while let record = try source.nextRecord() {
            progress.update(source.bytesRead)
            guard filter.accepts(record) else { continue }
            out.line(json ? formatter.jsonLine(record) : formatter.textLine(record))
            if hex && !json { for line in formatter.hexLines(record) { out.line(line) } }
        }
        progress.finish()
        out.flush()
        let damages = source.damages
        guard damages.isEmpty else {
            for damage in damages { Output.standardError("wsrecord-inspect: \(file): \(damage)") }
            Output.standardError("wsrecord-inspect: \(file): damaged; every readable record was dumped")
            throw ExitCode(ExitStatus.damaged)
        }
    }
}
