import NIOCore
import RecordFormat

/// Chooses the target of a WebSocket session from its request (token plugins); consulted after the
/// handshake was found valid and before it is answered.
public protocol TargetResolver: Sendable {
    /// The target for `request`; fails with a ``RequestRefusal`` (answered to the client as is) or
    /// any other error (answered with 502 and logged). Called on `eventLoop`; complete on any loop.
    func resolveTarget(for request: ConnectionRequest, on eventLoop: any EventLoop)
        -> EventLoopFuture<ProxyConfiguration.Target>

    /// How the listener's log line describes where sessions go ("tokens from FILE").
    var summary: String { get }

    /// The plugin's name in metrics (label `plugin` of the token lookup series: "TokenFile").
    var pluginName: String { get }
}

extension TargetResolver {
    public var pluginName: String { "custom" }
}
