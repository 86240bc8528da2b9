import ArgumentParser
import CLISupport
import Logging
import MetricsExport
import Proxy

extension Websockify {
    /// With `--metrics-listen`: the proxy counts into the endpoint's registry from now on; returns the
    /// endpoint, already listening, to run alongside the proxy (nil without the option).
    func startMetrics(into configuration: inout ProxyConfiguration, logger: Logger) async throws -> MetricsEndpoint? {
        do {
            guard let started = try await metricsOptions.start(logger: logger) else { return nil }
            configuration.metrics = started.metrics
            return started.endpoint
        } catch let error as MetricsListenError {
            logger.error("\(error.message)")
            throw ExitCode.failure
        }
    }
}
