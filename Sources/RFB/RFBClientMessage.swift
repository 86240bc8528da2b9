/// A message the VNC client (the browser side) sends, RFC 6143 §7.1–7.5.
public enum RFBClientMessage: Sendable, Equatable {
    /// `RFB xxx.yyy\n` (§7.1.1).
    case protocolVersion(String)
    /// The security type the client chose (§7.1.2, RFB 3.7 and later).
    case securityChoice(UInt8)
    /// The 16-byte DES response to a VNC authentication challenge (§7.2.2).
    case vncAuthResponse
    /// ClientInit: whether the desktop may be shared (§7.3.1).
    case clientInit(shared: Bool)
    /// SetPixelFormat, message type 0 (§7.5.1).
    case setPixelFormat
    /// SetEncodings, type 2, with the encodings in order of preference (§7.5.2).
    case setEncodings([Int32])
    /// FramebufferUpdateRequest, type 3 (§7.5.3).
    case framebufferUpdateRequest(incremental: Bool, x: UInt16, y: UInt16, width: UInt16, height: UInt16)
    /// KeyEvent, type 4 (§7.5.4): a keysym pressed or released.
    case keyEvent(down: Bool, keysym: UInt32)
    /// PointerEvent, type 5 (§7.5.5).
    case pointerEvent(buttons: UInt8, x: UInt16, y: UInt16)
    /// ClientCutText, type 6 (§7.5.6), with the text's length (the magnitude, for the Extended
    /// Clipboard form that sends it negated).
    case clientCutText(length: UInt32)
    /// A message type this parser does not know the length of; parsing stops here.
    case unknown(type: UInt8)

    /// A short name, e.g. for reports: `KeyEvent`, `PointerEvent`.
    public var name: String {
        switch self {
        case .protocolVersion: "ProtocolVersion"
        case .securityChoice: "SecurityChoice"
        case .vncAuthResponse: "VNCAuthResponse"
        case .clientInit: "ClientInit"
        case .setPixelFormat: "SetPixelFormat"
        case .setEncodings: "SetEncodings"
        case .framebufferUpdateRequest: "FramebufferUpdateRequest"
        case .keyEvent: "KeyEvent"
        case .pointerEvent: "PointerEvent"
        case .clientCutText: "ClientCutText"
        case .unknown(let type): "Unknown(\(type))"
        }
    }
}
