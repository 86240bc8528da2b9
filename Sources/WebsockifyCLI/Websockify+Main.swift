import ArgumentParser
import CLISupport
import Foundation
import Proxy
import ServiceSupport

#if canImport(Glibc)
    import Glibc
#endif

extension Websockify {
    /// The `websockify` process: tune it, parse the command line (a usage error exits with 2, as
    /// websockify's optparse does), start the daemon when asked, run.
    public static func main() async {
        tuneProcess()
        let command = parseOrExit()
        command.launchDaemonIfAsked()
        await runOrExit(command)
    }

    /// Settings for the whole process, made before anything else runs.
    static func tuneProcess() {
        // A recording that reaches a file-size limit must fail its write (EFBIG, handled like a
        // full disk), not kill the proxy with SIGXFSZ.
        signal(SIGXFSZ, SIG_IGN)
        // Frame and read buffers of 64–256 KiB come and go all the time. With glibc's adaptive
        // thresholds they sometimes land on fresh mmap'd or trimmed pages, and every one of those
        // page-faults (measured: 180,000 faults and +50% CPU per GB relayed, intermittently). Fixed
        // thresholds keep them on the reused heap.
        // (M_MMAP_THRESHOLD = -3 and M_TRIM_THRESHOLD = -1 in glibc's <malloc.h>, which Swift's
        // Glibc module does not import.)
        _ = glibcMallopt(-3, 4 << 20)
        _ = glibcMallopt(-1, 64 << 20)
    }

    /// With `-D`, this process starts the daemon (this program run again, in the background) and exits
    /// with what it reports; before any event loop or service starts. Returns in the daemon itself.
    ///
    /// What the daemon would find when it builds the configuration (a token file, plugin or web root
    /// that can't be used) is looked for here first, so that it fails in the foreground, exit status 2
    /// with the usage, and no daemon starts. (The daemon, a new process, builds its own.)
    func launchDaemonIfAsked() {
        guard daemon && !DaemonChild.isLaunched else { return }
        Self.checkOrExit { _ = try usageErrors { try makeConfiguration() } }
        Glibc.exit(
            DaemonLauncher.launch(
                arguments: CommandLine.arguments, environment: ProcessInfo.processInfo.environment,
                keepStandardInput: inetd, report: FileLogHandler.Sink.standardError.writeRaw))
    }
}

/// glibc's `mallopt(3)`: <malloc.h> is not part of Swift's Glibc module.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
