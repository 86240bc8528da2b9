import ArgumentParser
import RecordFormat
import RecordTools

#if canImport(Glibc)
import Glibc
#endif

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert between our format and the Python websockify's legacy recording format.",
        discussion: """
            The input format is detected from its content. The output is our format, or the legacy \
            format when OUT ends in .js or --to websockify is given (one session per legacy file).
            """
    )

    enum Target: String, ExpressibleByArgument, CaseIterable {
        case native = "websockify-swift"
        case websockify
    }

    @Argument(help: "Input recording (either format).")
    var input: String

    @Argument(help: "Output file; must not exist yet.")
    var output: String

    @Option(help: "Output format: websockify-swift (ours) or websockify (legacy).")
    var to: Target?

    @Option(help: "Session to write into a legacy file (needed when the input has several).")
    var session: UInt32?

    func run() throws {
        if access(output, F_OK) == 0 {
            throw RecordFormatError(.invalidArgument, "output exists; remove it or choose another name", path: output)
        }
        let legacy = to == .websockify || (to == nil && output.hasSuffix(".js"))
        let result: RecordConverter.Result = try producing(output) {
            if legacy {
                let (bytes, converted) = try RecordConverter.toLegacy(input: input, session: session)
                try NewFile(path: output, mode: try NewFile.mode(madeFrom: [input])).write(bytes)
                return converted
            }
            return try RecordConverter.toNative(input: input, output: output)
        }
        for damage in result.damages {
            Output.standardError("wsrecord-inspect: warning: \(input): \(damage); converted what was readable")
        }
        Output.standardError(
            "converted \(result.records) records (\(result.sessions) session\(result.sessions == 1 ? "" : "s")) "
                + "from \(result.inputFormat.rawValue) to \(legacy ? "websockify legacy" : "websockify-swift")")
        if !result.damages.isEmpty { throw ExitCode(ExitStatus.damaged) }
    }
}
