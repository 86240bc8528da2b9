import CoreMetrics

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The process's file descriptors against its limit, as Prometheus' own process collectors name
/// them (`process_open_fds`, `process_max_fds`): a proxy holds two per session, so running out of
/// descriptors is how a busy proxy starts refusing connections.
public enum ProcessResources {
    /// Sets both gauges before every scrape of `registry`.
    public static func install(on registry: MetricsRegistry) {
        registry.describe([
            "process_open_fds": "Open file descriptors of the process.",
            "process_max_fds": "The process's limit on open file descriptors (ulimit -n; 2^64-1 when unlimited).",
        ])
        let open = Gauge(label: "process_open_fds", factory: registry.factory)
        let limit = Gauge(label: "process_max_fds", factory: registry.factory)
        registry.beforeScrape {
            if let count = openDescriptorCount() { open.record(count) }
            if let max = descriptorLimit() { limit.record(max) }
        }
    }

    /// Entries of `/proc/self/fd` (Linux), less the one the listing itself holds open; nil where
    /// there is no such directory.
    public static func openDescriptorCount() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            // Only "." and ".." start with a dot there; the rest are descriptor numbers.
            let first = withUnsafeBytes(of: entry.pointee.d_name) { $0[0] }
            if first != UInt8(ascii: ".") { count += 1 }
        }
        return max(0, count - 1)
    }

    /// The soft limit on open descriptors (`ulimit -n`); nil when unknown.
    public static func descriptorLimit() -> Double? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return gaugeValue(limit: limit.rlim_cur)
    }

    /// A limit as the gauge shows it: its value, and RLIM_INFINITY (all ones) as 2^64−1 — what
    /// Prometheus' Go client (procfs reads "unlimited" in /proc/PID/limits as 18446744073709551615)
    /// and node_exporter report, so `process_open_fds / process_max_fds` stays near 0, not +Inf.
    static func gaugeValue(limit: rlim_t) -> Double {
        Double(UInt64(limit))
    }
}
