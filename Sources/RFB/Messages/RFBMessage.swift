/// Every RFB message either side sends: the 3.3/3.7/3.8 handshake (RFC 6143 §7.1–7.3), the
/// client messages (§7.5) and server messages (§7.6) of the RFC, and the extensions noVNC and
/// common servers use (rfbproto community specification). Which side sent one is kept beside it
/// (``RFBParsedMessage/direction``); messages both sides send in the same form share a case.
public enum RFBMessage: Sendable, Hashable {
    // MARK: Handshake

    /// ProtocolVersion, both sides (§7.1.1).
    case protocolVersion(RFBProtocolVersion)
    /// Server, 3.7 and later: the security types offered (§7.1.2).
    case securityTypes([RFBSecurityType])
    /// Server, 3.3: the security type the server chose (a U32 on the wire).
    case securityType(RFBSecurityType)
    /// Server: the connection failed before authentication (no types, or type 0), with the reason.
    case securityFailure(reason: String)
    /// Client, 3.7 and later: the security type chosen.
    case securityChoice(RFBSecurityType)
    /// Server: the 16-byte VNC authentication challenge (§7.2.2). The bytes are not kept.
    case vncAuthChallenge
    /// Client: the 16-byte DES response to the challenge (§7.2.2). The bytes are not kept.
    case vncAuthResponse
    /// Server: SecurityResult (§7.1.3); `reason` is sent on failure from 3.8 on.
    case securityResult(status: UInt32, reason: String?)
    /// Client: ClientInit (§7.3.1).
    case clientInit(shared: Bool)
    /// Server: ServerInit (§7.3.2); the name keeps at most ``RFBSessionParser/stringLimit`` bytes.
    case serverInit(width: UInt16, height: UInt16, pixelFormat: RFBPixelFormat, name: String)

    // MARK: Client to server

    /// SetPixelFormat, type 0 (§7.5.1).
    case setPixelFormat(RFBPixelFormat)
    /// SetEncodings, type 2 (§7.5.2), in order of preference.
    case setEncodings([RFBEncoding])
    /// FramebufferUpdateRequest, type 3 (§7.5.3).
    case framebufferUpdateRequest(incremental: Bool, x: UInt16, y: UInt16, width: UInt16, height: UInt16)
    /// KeyEvent, type 4 (§7.5.4).
    case keyEvent(down: Bool, keysym: RFBKeysym)
    /// PointerEvent, type 5 (§7.5.5). `buttons` holds bits 0–6 of the mask and, in the extended
    /// form (ExtendedMouseButtons: marker bit 7 set, one more byte), the extra buttons as bits 7–8.
    case pointerEvent(buttons: UInt16, x: UInt16, y: UInt16, extended: Bool)
    /// ClientCutText, type 6 (§7.5.6).
    case clientCutText(RFBCutText)
    /// EnableContinuousUpdates, type 150.
    case enableContinuousUpdates(enable: Bool, x: UInt16, y: UInt16, width: UInt16, height: UInt16)
    /// ClientFence, type 248: flags and up to 64 bytes of payload.
    case clientFence(flags: UInt32, payload: [UInt8])
    /// SetDesktopSize, type 251.
    case setDesktopSize(width: UInt16, height: UInt16, screens: [RFBScreen])
    /// QEMU extended key event, type 255 subtype 0: a keysym with its XT keycode.
    case qemuExtendedKeyEvent(down: Bool, keysym: RFBKeysym, keycode: UInt32)
    /// QEMU audio client message, type 255 subtype 1: operation 0 enable, 1 disable, 2 set format
    /// (`format`: sample format, channels, frequency).
    case qemuAudioControl(operation: UInt16, format: RFBAudioFormat?)

    // MARK: Server to client

    /// FramebufferUpdate, type 0 (§7.6.1).
    case framebufferUpdate(RFBFramebufferUpdate)
    /// SetColourMapEntries, type 1 (§7.6.2): the colours themselves are not kept.
    case setColourMapEntries(firstColour: UInt16, count: UInt16)
    /// Bell, type 2 (§7.6.3).
    case bell
    /// ServerCutText, type 3 (§7.6.4).
    case serverCutText(RFBCutText)
    /// EndOfContinuousUpdates, type 150.
    case endOfContinuousUpdates
    /// ServerFence, type 248.
    case serverFence(flags: UInt32, payload: [UInt8])
    /// QEMU audio server message, type 255 subtype 1: operation 0 end, 1 begin, 2 data (`dataLength` bytes).
    case qemuAudio(operation: UInt16, dataLength: UInt32?)

    // MARK: Both

    /// xvp, type 250, both sides: client codes 2 shutdown, 3 reboot, 4 reset; server 0 fail, 1 init.
    case xvp(version: UInt8, code: UInt8)
}
