import ArgumentParser
import RecordFormat
import RecordTools

#if canImport(Glibc)
import Glibc
#endif

/// Reports damage found in inputs on stderr; the output holds what was readable. Throws exit
/// status 3 when there was any, as documented.
private func warn(_ damages: [Damage], _ path: String) throws {
    for damage in damages { Output.standardError("wsrecord-inspect: warning: \(path): \(damage)") }
    if !damages.isEmpty { throw ExitCode(ExitStatus.damaged) }
}

/// Runs `body`, removing `output` again if it fails after creating it (so a retry can use the name).
func producing<T>(_ output: String, _ body: () throws -> T) throws -> T {
    let existed = access(output, F_OK) == 0
    do {
        return try body()
    } catch {
        if !existed { unlink(output) }
        throw error
    }
}

struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy one session into a new recording (as session 1, its origin kept).")

    @Argument(help: "The recording (either format).") var file: String
    @Option(help: "The session to copy.") var session: UInt32
    @Option(name: .shortAndLong, help: "The new recording; must not exist.") var output: String

    func run() throws {
        let summary = try producing(output) { try RecordEditing.extract(input: file, session: session, output: output) }
        Output.standardError("extracted session \(session): \(summary.records) records into \(output)")
        try warn(summary.damages, file)
    }
}

struct Slice: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the records in a time window (since each session's start) into a new recording.",
        discussion: "Sessions keep their numbers and open records; close records only when inside the window.")

    @Argument(help: "The recording (either format).") var file: String
    @Option(help: "Window start, e.g. 10s (default 0).") var from: String?
    @Option(help: "Window end, e.g. 30s (default: the end).") var to: String?
    @Option(help: "Only this session.") var session: UInt32?
    @Option(name: .shortAndLong, help: "The new recording; must not exist.") var output: String

    func run() throws {
        let filter = try FilterOptions.window(from: from, to: to)
        let summary = try producing(output) {
            try RecordEditing.slice(
                input: file, fromMicros: filter.fromMicros ?? 0, toMicros: filter.toMicros, session: session, output: output)
        }
        Output.standardError("sliced \(summary.records) records of \(summary.sessions) sessions into \(output)")
        try warn(summary.damages, file)
    }
}

struct Cat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join recordings into a new one; sessions are renumbered 1, 2, … and keep their origin.",
        discussion: """
            A session that spans files (a rotated recording: the same session id in each) becomes one \
            session. The files follow each other as given, or with --by-time are merged into one timeline \
            by wall-clock time (the recordings of several proxies).
            """)

    @Argument(help: "Recordings to join, in order (either format).") var files: [String]
    @Option(name: .shortAndLong, help: "The new recording; must not exist.") var output: String
    @Flag(help: "Merge the recordings into one timeline by wall-clock time instead of one after the other.")
    var byTime = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one recording to join") }
    }

    func run() throws {
        let summary = try producing(output) { try RecordEditing.concatenate(inputs: files, output: output, byTime: byTime) }
        Output.standardError("joined \(summary.sessions) sessions (\(summary.records) records) into \(output)")
        try warn(summary.damages, files.joined(separator: ", "))
    }
}

struct Repair: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrite a recording without its torn tail and damaged parts, with a fresh index.",
        discussion: """
            Corrupt blocks are dropped unless --keep-corrupt keeps their bytes as they are. The original \
            is never touched unless --in-place is given (then it is replaced atomically).
            """)

    @Argument(help: "The recording to repair.") var file: String
    @Option(name: .shortAndLong, help: "The repaired copy; must not exist.") var output: String?
    @Flag(help: "Replace FILE with its repaired copy.") var inPlace = false
    @Flag(help: "Keep corrupt blocks byte for byte instead of dropping them.") var keepCorrupt = false

    func validate() throws {
        if (output == nil) == !inPlace { throw ValidationError("give either -o OUT or --in-place") }
    }

    func run() throws {
        let (progress, done) = Progress.callback(label: "repair", enabled: true)
        let report =
            inPlace
            ? try RecordRepair.repairInPlace(path: file, keepCorrupt: keepCorrupt, progress: progress)
            : try producing(output!) {
                try RecordRepair.repair(input: file, output: output!, keepCorrupt: keepCorrupt, progress: progress)
            }
        done()
        for damage in report.damages { Output.standardError("  found \(damage)") }
        Output.standardError(
            "repaired \(inPlace ? file : output!): \(report.records) records in \(report.blocksKept) blocks kept; "
                + "\(report.corruptDropped) corrupt blocks dropped, \(report.corruptKept) kept; "
                + "\(report.bytesCut) bytes cut, \(report.recordsLost) records lost")
    }
}
