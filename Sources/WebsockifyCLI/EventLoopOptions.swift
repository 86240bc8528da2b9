import ArgumentParser
import Proxy

/// websockify's event-loop count, as an `@OptionGroup` (docs/proxy.md, "Performance"): how many
/// threads serve connections, each running one SwiftNIO event loop that owns the sessions it accepted.
struct EventLoopOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "serve connections on N event-loop threads (default: one per CPU core; a session stays on the loop "
                + "that accepted it)",
            valueName: "N"))
    var threads: Int?

    init() {}

    func validate() throws {
        if let threads, !(1...1024).contains(threads) {
            throw ValidationError("--threads \(threads): must be from 1 to 1024")
        }
    }

    /// Sets the thread count given on `configuration`; without `--threads` it keeps its default.
    func apply(to configuration: inout ProxyConfiguration) {
        if let threads { configuration.eventLoopThreads = threads }
    }
}
