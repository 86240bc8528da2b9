import CoreMetrics
import NIOConcurrencyHelpers
import Prometheus

/// Where a process's series live and how they are exposed: a Prometheus registry, the
/// swift-metrics factory that makes series in it, and what must be read just before each scrape.
///
/// Counters and histograms are updated as things happen; values that are read rather than counted
/// (open descriptors, a queue's depth) are set by the hooks added with ``beforeScrape(_:)``, so
/// a scrape always shows them as they are at that moment.
public final class MetricsRegistry: Sendable {
    /// The Prometheus registry the text comes from.
    public let prometheus: PrometheusCollectorRegistry
    /// Makes swift-metrics series in ``prometheus`` (pass it to the parts that count).
    public let factory: any MetricsFactory
    private let hooks = NIOLockedValueBox<[@Sendable () -> Void]>([])
    private let help: HelpTexts

    /// - Parameter durationBuckets: histogram buckets per timer label (seconds scale for session
    ///   lengths, milliseconds for handshakes); other timers get swift-prometheus's defaults.
    public init(durationBuckets: [String: [Duration]] = [:]) {
        let prometheus = PrometheusCollectorRegistry()
        let defaults = PrometheusMetricsFactory(registry: prometheus)
        let help = HelpTexts()
        self.prometheus = prometheus
        self.help = help
        self.factory = DescribedPrometheusFactory(
            registry: prometheus, help: help, durationBuckets: durationBuckets,
            defaultDurationBuckets: defaults.defaultDurationHistogramBuckets,
            defaultValueBuckets: defaults.defaultValueHistogramBuckets)
    }

    /// The `# HELP` texts of series by name; give them before the series are made (a series made
    /// before its text keeps none).
    public func describe(_ texts: [String: String]) {
        help.describe(texts)
    }

    /// Runs `hook` before every scrape (it sets gauges from what it reads). Hooks run in the order
    /// they were added, on the endpoint's event loop: they must not block.
    public func beforeScrape(_ hook: @escaping @Sendable () -> Void) {
        hooks.withLockedValue { $0.append(hook) }
    }

    /// The Prometheus text exposition (format 0.0.4) of every series, after the hooks ran.
    public func exposition() -> [UInt8] {
        for hook in hooks.withLockedValue({ $0 }) { hook() }
        var buffer: [UInt8] = []
        prometheus.emit(into: &buffer)
        return buffer
    }
}
