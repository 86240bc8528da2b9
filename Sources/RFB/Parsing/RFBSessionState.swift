/// What an RFB session has settled so far, as its parser saw it: the versions, the security
/// type, the pixel format and size, the encodings the client asked for and what the server
/// confirmed. The server's stream needs it to be parsed (a SetPixelFormat changes the size of
/// every later pixel), so one parser follows both sides in recorded order.
public struct RFBSessionState: Sendable, Hashable {
    public var serverVersion: RFBProtocolVersion?
    public var clientVersion: RFBProtocolVersion?
    /// The types the server offered (3.7 and later).
    public var offeredSecurityTypes: [RFBSecurityType] = []
    /// The type in use: the client's choice (3.7+) or the server's (3.3).
    public var securityType: RFBSecurityType?
    /// The pixel format of ServerInit, then of the last SetPixelFormat.
    public var pixelFormat: RFBPixelFormat?
    public var framebufferWidth: UInt16?
    public var framebufferHeight: UInt16?
    public var desktopName: String?
    /// The last SetEncodings list.
    public var encodings: [RFBEncoding] = []
    /// The server sent an ExtendedMouseButtons pseudo-rectangle: the client may now send
    /// extended PointerEvents (marker bit 7 set, one more byte).
    public var extendedMouseButtonsConfirmed = false

    public init() {}

    /// The handshake layout in use: the lower of the two versions (the client must not ask for
    /// more than the server offered); nil until both are known.
    public var layout: RFBProtocolVersion.Layout? {
        guard let server = serverVersion?.layout, let client = clientVersion?.layout else { return nil }
        return min(server, client)
    }

    /// Whether the client announced the Extended Clipboard pseudo-encoding: only then may a cut
    /// text carry a negative length.
    public var extendedClipboard: Bool { encodings.contains(.extendedClipboard) }
}
