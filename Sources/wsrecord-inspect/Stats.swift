import ArgumentParser
import RecordFormat
import RecordTools

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a recording: sessions, frames and bytes per direction, compression, peak throughput.",
        discussion: """
            Reads our format and legacy Python websockify recordings. --plot writes an SVG of the \
            bandwidth over time. A truncated or damaged file is summarised from every readable record, \
            the damage is reported on stderr and the exit status is 3. So is a record whose time is out \
            of range (after 9999-12-31): it is counted at the time of its session's record before it.
            """
    )

    @Argument(help: "The recording file; several are summarised as one, a session that spans them counted once.")
    var files: [String]

    /// The files, for messages.
    var file: String { files.joined(separator: ", ") }

    func validate() throws {
        if files.isEmpty { throw ValidationError("give a recording") }
    }

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Option(
        name: .customLong("plot"),
        help: ArgumentHelp("Write an SVG plot of the bandwidth over time to this new file.", valueName: "out.svg"))
    var plotPath: String?

    func run() throws {
        let (progress, done) = Progress.callback(label: "stats", enabled: !json)
        let stats = try RecordStats.compute(paths: files, progress: progress)
        done()
        if let plotPath {
            let svg = BandwidthPlot().svg(
                stats, title: "Bandwidth of \(file.split(separator: "/").last.map(String.init) ?? file)")
            try NewFile(path: plotPath, mode: try NewFile.mode(madeFrom: files)).write(svg)
        }
        var out = Output()
        if json {
            out.line(RecordStatsFormatter.json(stats))
        } else {
            out.text(RecordStatsFormatter.text(stats))
        }
        out.flush()
        for problem in stats.timeProblems { Output.standardError("wsrecord-inspect: \(problem.error(path: file))") }
        guard stats.damages.isEmpty else {
            for damage in stats.damages { Output.standardError("wsrecord-inspect: \(file): \(damage)") }
            Output.standardError("wsrecord-inspect: \(file): damaged; the figures cover every readable record")
            throw ExitCode(ExitStatus.damaged)
        }
        if !stats.gaps.isEmpty {
            Output.standardError(
                "wsrecord-inspect: \(file): incomplete: " + RecordGapFormatter.summary(stats.gaps)
                    + " while recording; the figures cover every recorded record")
        }
        if !stats.timeProblems.isEmpty || !stats.gaps.isEmpty { throw ExitCode(ExitStatus.damaged) }
    }
}
