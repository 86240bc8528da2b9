import NIOCore
import Proxy

extension Websockify {
    /// `--lame-duck`'s default: longer than a balancer's usual check interval (HAProxy's `inter`
    /// defaults to 2 s; contrib/haproxy checks every 500 ms), short enough not to hold a restart up.
    static let defaultLameDuck = 2.0

    /// `--lame-duck` and `--drain-timeout`: seconds, 0 to ``maximumSeconds``; `--lame-duck` only means something
    /// with `--health-path` (a balancer has nothing else to notice the shutdown by).
    func checkShutdownTimes() throws {
        try Self.checkSeconds([("--lame-duck", lameDuck), ("--drain-timeout", drainTimeout)])
        if let lameDuck, lameDuck > 0, healthPath == nil {
            throw ProxyError.invalidOption(
                "--lame-duck=\(lameDuck)",
                why: "needs --health-path: the lame duck is the time a balancer gets to see its 503")
        }
    }

    /// Sets the lame-duck and drain times of `timeouts`.
    func applyShutdownTimes(to timeouts: inout ProxyConfiguration.Timeouts) {
        timeouts.lameDuck = healthPath == nil ? .zero : Self.seconds(lameDuck ?? Self.defaultLameDuck) ?? .zero
        timeouts.drain = Self.seconds(drainTimeout) ?? .zero
    }
}
