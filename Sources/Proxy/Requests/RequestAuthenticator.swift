/// Decides whether a request may proceed (auth plugins); consulted before a WebSocket upgrade, and
/// before web requests with `--web-auth`.
public protocol RequestAuthenticator: Sendable {
    /// nil lets `request` through; a refusal is answered as is and the connection closed.
    func authenticate(_ request: ConnectionRequest) -> RequestRefusal?
}
