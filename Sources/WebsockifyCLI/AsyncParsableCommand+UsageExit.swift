import ArgumentParser
import Foundation
import Proxy

extension AsyncParsableCommand {
    /// Parses the command line as `main()` does, but a usage error exits with status 2 (as Python
    /// websockify's optparse does) instead of ArgumentParser's 64; `--help` and `--version` still
    /// print and exit 0.
    public static func parseOrExit() -> Self {
        do {
            return try parse()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileLogHandler.Sink.standardError.writeRaw(fullMessage(for: error) + "\n")
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    /// Runs a command parsed by ``parseOrExit()`` as `main()` does: an error it throws (an `ExitCode`
    /// included) exits with its message and status; otherwise this returns.
    public static func runOrExit(_ command: Self) async {
        var command = command
        do {
            try await command.run()
        } catch {
            exit(withError: error)
        }
    }
}
