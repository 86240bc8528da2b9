import ArgumentParser
import NIOCore
import Proxy

/// websockify's limits on connections, as an `@OptionGroup` (docs/proxy.md, "Limits and timeouts"):
/// how many it serves at once, in all and per client, and how long a client may take to send its
/// request.
struct ConnectionLimitOptions: ParsableArguments {
    @Option(
        name: .customLong("max-connections"),
        help: ArgumentHelp(
            "serve at most N connections at once (WebSocket sessions, handshakes under way and --web downloads, "
                + "counted from their request head); more are answered 503 with Retry-After (default: no limit "
                + "but the open-file limit)",
            valueName: "N"))
    var maxConnections: Int?

    @Option(
        name: .customLong("max-connections-per-ip"),
        help: ArgumentHelp(
            "serve at most N connections of one client IP address at once (the real client's with "
                + "--proxy-protocol or --trust-proxy; IPv6 per whole address); more are answered 503 (default: no limit)",
            valueName: "N"))
    var maxConnectionsPerIP: Int?

    @Option(
        name: .customLong("handshake-timeout"),
        help: ArgumentHelp(
            "drop a connection that has not sent a complete request within SECONDS of connecting, or of its "
                + "previous request on a kept-alive connection (default 10)",
            valueName: "SECONDS"))
    var handshakeTimeout: Double?

    init() {}

    func validate() throws {
        for (name, value) in [("--max-connections", maxConnections), ("--max-connections-per-ip", maxConnectionsPerIP)] {
            if let value, value < 1 { throw ValidationError("\(name) \(value): must be at least 1") }
        }
        if let handshakeTimeout, !(handshakeTimeout > 0 && handshakeTimeout <= 3600) {
            throw ValidationError("--handshake-timeout \(handshakeTimeout): must be more than 0 and at most 3600 seconds")
        }
    }

    /// Sets the limits given on `configuration`; the others keep their defaults.
    func apply(to configuration: inout ProxyConfiguration) {
        configuration.limits.maxConnections = maxConnections
        configuration.limits.maxConnectionsPerClient = maxConnectionsPerIP
        if let handshakeTimeout {
            configuration.timeouts.handshake = .nanoseconds(Int64((handshakeTimeout * 1e9).rounded()))
        }
    }
}
