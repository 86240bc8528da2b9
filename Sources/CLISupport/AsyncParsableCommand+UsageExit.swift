import ArgumentParser
import Foundation
import Proxy
import ServiceSupport

extension AsyncParsableCommand {
    /// Parses the command line as `main()` does, but a usage error exits with status 2 (as Python
    /// websockify's optparse does) instead of ArgumentParser's 64; `--help` and `--version` still
    /// print and exit 0.
    public static func parseOrExit() -> Self {
        do {
            return try parse()
        } catch {
            exitOnUsageError(error)
            exit(withError: error)
        }
    }

    /// Runs a command parsed by ``parseOrExit()`` as `main()` does: an error it throws (an `ExitCode`
    /// included) exits with its message and status; otherwise this returns. A usage error found while
    /// running (a file named by an option that can't be used, checked when the configuration is built)
    /// exits with status 2 and the usage, as one found while parsing.
    public static func runOrExit(_ command: Self) async {
        var command = command
        do {
            try await command.run()
        } catch {
            exitOnUsageError(error)
            exit(withError: error)
        }
    }

    /// Runs a check of the command's options outside ``runOrExit(_:)`` (say, before a daemon starts): what
    /// it throws exits as it would there, a usage error with status 2 and the usage.
    public static func checkOrExit(_ check: () throws -> Void) {
        do {
            try check()
        } catch {
            exitOnUsageError(error)
            exit(withError: error)
        }
    }

    /// Exits with status 2, printing `error` with the usage, when it is a usage error.
    private static func exitOnUsageError(_ error: any Error) {
        guard exitCode(for: error) == .validationFailure else { return }
        FileLogHandler.Sink.standardError.writeRaw(fullMessage(for: error) + "\n")
        Foundation.exit(2)
    }
}
