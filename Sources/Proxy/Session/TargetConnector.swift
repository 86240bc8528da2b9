import NIOCore

/// Opens the target connection of a session, with a ``TargetRelayHandler`` for the session in
/// its pipeline and auto-read off (the session paces reads). ``SocketTargetConnector`` connects
/// over the network; tests hand the session a channel of their own.
protocol TargetConnector {
    /// Connects to `target` on the session's event loop.
    func connect(
        to target: ProxyConfiguration.Target, for session: NIOLoopBound<WebSocketSessionHandler>
    ) -> EventLoopFuture<any Channel>
}
