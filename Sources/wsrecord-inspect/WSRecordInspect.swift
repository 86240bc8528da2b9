import ArgumentParser
import RecordFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
struct WSRecordInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wsrecord-inspect",
        abstract: "Inspect, verify, summarise, export and convert websockify session recordings.",
        discussion: """
            Exit status: 0 success; 2 usage error or unreadable file; 3 the recording is truncated \
            or has corrupt blocks (everything readable is still processed).
            """,
        version: RecordFormatVersion.producerVersion,
        subcommands: [
            Verify.self, Dump.self, Stats.self, Diff.self, Convert.self, Extract.self, Slice.self, Cat.self,
            Repair.self, Export.self, Render.self, Serve.self,
        ]
    )

    /// Like ParsableCommand.main, but usage errors exit with status 2 and recording errors are
    /// printed as one line naming the file and offset.
    static func main() {
        // A write past RLIMIT_FSIZE must fail with EFBIG, reported with the file's name, not kill
        // the tool with SIGXFSZ (repair --keep-corrupt and legacy output write without checking it).
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as RecordFormatError {
            Output.standardError("wsrecord-inspect: \(error)")
            Glibc.exit(ExitStatus.trouble)
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch {
            let status = exitCode(for: error)
            if status == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            Output.standardError(fullMessage(for: error))
            Glibc.exit(ExitStatus.trouble)
        }
    }
}

enum ExitStatus {
    static let ok: Int32 = 0
    static let different: Int32 = 1
    static let trouble: Int32 = 2
    static let damaged: Int32 = 3
}
