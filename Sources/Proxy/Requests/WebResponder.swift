import NIOCore

/// Answers HTTP requests that are not WebSocket upgrades (`--web`).
public protocol WebResponder: Sendable {
    /// Writes the whole response to `request` as `HTTPServerResponsePart`s to `channel` (whose
    /// pipeline encodes them), on the channel's event loop. The future completes once the response
    /// has been written; its value says whether the connection may carry another request.
    func respond(to request: ConnectionRequest, channel: any Channel) -> EventLoopFuture<Bool>
}
