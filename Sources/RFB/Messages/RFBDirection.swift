/// Which way RFB bytes travel: from the VNC client (viewer) or from the VNC server.
public enum RFBDirection: Sendable, Hashable, CaseIterable {
    case clientToServer
    case serverToClient

    /// The opposite direction.
    public var other: RFBDirection { self == .clientToServer ? .serverToClient : .clientToServer }

    /// `client` or `server`: who sent the bytes.
    public var senderName: String { self == .clientToServer ? "client" : "server" }
}
