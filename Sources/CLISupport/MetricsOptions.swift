import ArgumentParser
import Logging
import MetricsExport
import Proxy
import ServiceSupport

/// `--metrics-listen [HOST:]PORT`, shared by websockify and wsreplay, as an `@OptionGroup`: the
/// Prometheus endpoint, off unless given, on loopback unless a host is named.
public struct MetricsOptions: ParsableArguments {
    @Option(
        name: .customLong("metrics-listen"),
        help: ArgumentHelp(
            "serve Prometheus metrics at http://HOST:PORT/metrics on a listener of its own (HOST defaults to "
                + "127.0.0.1: name one, e.g. 0.0.0.0 or [::], to be scraped from elsewhere)",
            valueName: "[HOST:]PORT"))
    public var metricsListen: String?

    public init() {}

    public func validate() throws {
        _ = try address()
    }

    /// Where the endpoint listens; nil without `--metrics-listen`.
    public func address() throws -> (host: String, port: Int)? {
        guard let text = metricsListen else { return nil }
        do {
            if let port = Int(text) { return ("127.0.0.1", try HostPort.checkedPort(port)) }
            let (host, port) = try HostPort.parse(text)
            return (host.isEmpty ? "127.0.0.1" : host, port)
        } catch {
            throw ValidationError("--metrics-listen \(text): \(error.why)")
        }
    }

    /// With `--metrics-listen`: the series of the proxy core (and of the process's descriptors),
    /// and the endpoint serving them, already listening (a port in use is an error here, at start).
    /// Add the endpoint to the program's service group.
    public func start(logger: Logger) async throws -> (metrics: ProxyMetrics, registry: MetricsRegistry, endpoint: MetricsEndpoint)? {
        guard let (host, port) = try address() else { return nil }
        let registry = MetricsRegistry(durationBuckets: ProxyMetrics.durationBuckets)
        registry.describe(ProxyMetrics.help)
        let metrics = ProxyMetrics(factory: registry.factory)
        ProcessResources.install(on: registry)
        registry.beforeScrape { metrics.recording.update() }
        let endpoint: MetricsEndpoint
        do {
            endpoint = try await MetricsEndpoint.bind(host: host, port: port, registry: registry, logger: logger)
        } catch {
            throw MetricsListenError(message: "cannot listen for metrics on \(metricsListen ?? ""): \(socketErrorText(error))")
        }
        return (metrics, registry, endpoint)
    }
}

/// The metrics endpoint could not listen where `--metrics-listen` said.
public struct MetricsListenError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
