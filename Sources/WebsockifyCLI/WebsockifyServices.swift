import Logging
import Proxy
import ServiceLifecycle
import UnixSignals

/// websockify's running parts as one `ServiceGroup`: the proxy, and the steps to take after it stops
/// (the wrapped program, the recording).
///
/// The group starts the steps first and the proxy last; on SIGTERM or SIGINT, or when the proxy stops on
/// its own (`--run-once`, `--timeout`, `--idle-timeout`, a wrapped program's exit), it shuts them down in
/// the reverse order, each once the one before has returned: the proxy (stop accepting, close the sessions
/// with 1001, wait for them), then the steps in ``afterProxy`` order.
public struct WebsockifyServices: Sendable {
    public let proxy: ProxyServer
    /// Run in this order once the proxy has stopped.
    public var afterProxy: [ShutdownStep] = []
    /// Services that run as long as the group (SIGHUP's ``HangUpReloader``): started first, stopped last.
    public var alongside: [any Service] = []

    public init(proxy: ProxyServer) {
        self.proxy = proxy
    }

    /// The signals that shut websockify down gracefully (exit status 0).
    public static let shutdownSignals: [UnixSignal] = [.sigterm, .sigint]

    /// The group, in start order. The proxy must not handle signals itself (``ProxyServer/handleSignals``).
    ///
    /// The group's own notes (all at debug level) are left out of `logger`'s output even at `-v`, so
    /// that websockify's log reads as before.
    public func makeGroup(signals: [UnixSignal] = Self.shutdownSignals, logger: Logger) -> ServiceGroup {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .info)
        // Every part that returns, or throws, shuts the rest down in order; the group then rethrows.
        let services = (alongside + afterProxy.reversed() + [proxy] as [any Service]).map {
            ServiceGroupConfiguration.ServiceConfiguration(
                service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup)
        }
        return ServiceGroup(
            configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: signals, logger: quiet))
    }
}
