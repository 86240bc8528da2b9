/// The client's stream: handshake (RFC 6143 §7.1–7.3) and client messages (§7.5, rfbproto).
extension RFBSessionParser {
    private static let client = RFBDirection.clientToServer

    private var clientQueue: RFBByteQueue { sides[0].queue }

    mutating func stepClient() -> Step {
        let q = clientQueue
        switch clientStage {
        case .version:
            let (version, step) = readVersion(Self.client)
            guard let version, let layout = version.layout else { return step }
            state.clientVersion = version
            clientStage = (state.layout ?? layout) >= .v37 ? .securityChoice : .waitServerSecurity
            return take(Self.client, 12, .protocolVersion(version))
        case .securityChoice:
            guard q.count >= 1 else { return .blocked }
            let type = RFBSecurityType(rawValue: q[0])
            state.securityType = type
            clientStage = Self.stage(after: type)
            return take(Self.client, 1, .securityChoice(type))
        case .waitServerSecurity:
            guard let type = state.securityType else { return .blocked }
            clientStage = type == .invalid ? .closed : Self.stage(after: type)
            return .advanced
        case .unsupported(let type):
            return unsupported(Self.client, type)
        case .authResponse:
            guard q.count >= 16 else { return .blocked }
            clientStage = .clientInit
            return take(Self.client, 16, .vncAuthResponse)
        case .clientInit:
            guard q.count >= 1 else { return .blocked }
            clientStage = .messages
            return take(Self.client, 1, .clientInit(shared: q[0] != 0))
        case .closed:
            guard q.count > 0 else { return .blocked }
            return stop(Self.client, .malformed, at: q.offset, "client bytes after the handshake failed")
        case .messages:
            guard q.count >= 1 else { return .blocked }
            return clientMessage(q)
        }
    }

    private static func stage(after type: RFBSecurityType) -> ClientStage {
        switch type {
        case .none: .clientInit
        case .vncAuthentication: .authResponse
        default: .unsupported(type)
        }
    }

    private mutating func clientMessage(_ q: RFBByteQueue) -> Step {
        let type = q[0]
        switch type {
        case 0:
            guard q.count >= 20 else { return .blocked }
            let format = RFBPixelFormat(q.bytes(4, 16))
            state.pixelFormat = format
            return take(Self.client, 20, .setPixelFormat(format))
        case 2:
            guard q.count >= 4 else { return .blocked }
            let count = Int(q.u16(2))
            guard q.count >= 4 + 4 * count else { return .blocked }
            let encodings = (0..<count).map { RFBEncoding(Int32(bitPattern: q.u32(4 + 4 * $0))) }
            state.encodings = encodings
            return take(Self.client, 4 + 4 * count, .setEncodings(encodings))
        case 3:
            return flagAndArea(q) { .framebufferUpdateRequest(incremental: $0, x: $1, y: $2, width: $3, height: $4) }
        case 4:
            guard q.count >= 8 else { return .blocked }
            return take(Self.client, 8, .keyEvent(down: q[1] != 0, keysym: RFBKeysym(q.u32(4))))
        case 5:
            guard q.count >= 2 else { return .blocked }
            // Once the server confirmed ExtendedMouseButtons, bit 7 marks the 7-byte form.
            let extended = state.extendedMouseButtonsConfirmed && q[1] & 0x80 != 0
            guard q.count >= (extended ? 7 : 6) else { return .blocked }
            let buttons = extended ? UInt16(q[1] & 0x7F) | UInt16(q[6]) << 7 : UInt16(q[1])
            return take(
                Self.client, extended ? 7 : 6,
                .pointerEvent(buttons: buttons, x: q.u16(2), y: q.u16(4), extended: extended))
        case 6:
            return cutText(Self.client) { .clientCutText($0) }
        case 150:
            return flagAndArea(q) { .enableContinuousUpdates(enable: $0, x: $1, y: $2, width: $3, height: $4) }
        case 248:
            return fence(Self.client) { .clientFence(flags: $0, payload: $1) }
        case 250:
            guard q.count >= 4 else { return .blocked }
            return take(Self.client, 4, .xvp(version: q[2], code: q[3]))
        case 251:
            guard q.count >= 8 else { return .blocked }
            let count = Int(q[6])
            guard q.count >= 8 + 16 * count else { return .blocked }
            let screens = (0..<count).map { Self.screen(q, at: 8 + 16 * $0) }
            return take(
                Self.client, 8 + 16 * count, .setDesktopSize(width: q.u16(2), height: q.u16(4), screens: screens))
        case 255:
            return qemuClientMessage(q)
        default:
            return stop(Self.client, .unknown, at: q.offset, "client message type \(type) is not known")
        }
    }

    /// FramebufferUpdateRequest or EnableContinuousUpdates: a flag byte, then x, y, width, height.
    private mutating func flagAndArea(
        _ q: RFBByteQueue, _ make: (Bool, UInt16, UInt16, UInt16, UInt16) -> RFBMessage
    ) -> Step {
        guard q.count >= 10 else { return .blocked }
        return take(Self.client, 10, make(q[1] != 0, q.u16(2), q.u16(4), q.u16(6), q.u16(8)))
    }

    private mutating func qemuClientMessage(_ q: RFBByteQueue) -> Step {
        guard q.count >= 2 else { return .blocked }
        switch q[1] {
        case 0:
            guard q.count >= 12 else { return .blocked }
            return take(
                Self.client, 12,
                .qemuExtendedKeyEvent(down: q.u16(2) != 0, keysym: RFBKeysym(q.u32(4)), keycode: q.u32(8)))
        case 1:
            guard q.count >= 4 else { return .blocked }
            let operation = q.u16(2)
            switch operation {
            case 0, 1:
                return take(Self.client, 4, .qemuAudioControl(operation: operation, format: nil))
            case 2:
                guard q.count >= 10 else { return .blocked }
                let format = RFBAudioFormat(sampleFormat: q[4], channels: q[5], frequency: q.u32(6))
                return take(Self.client, 10, .qemuAudioControl(operation: operation, format: format))
            default:
                return stop(
                    Self.client, .unknown, at: q.offset, "QEMU audio client operation \(operation) is not known")
            }
        default:
            return stop(Self.client, .unknown, at: q.offset, "QEMU client message subtype \(q[1]) is not known")
        }
    }

    // MARK: Shared by both sides

    /// ClientCutText or ServerCutText: the classic Latin-1 text, or with a negative length (when
    /// the client announced ExtendedClipboard) the Extended Clipboard form.
    mutating func cutText(_ direction: RFBDirection, _ make: (RFBCutText) -> RFBMessage) -> Step {
        let q = sides[direction.index].queue
        guard q.count >= 8 else { return .blocked }
        let signed = Int32(bitPattern: q.u32(4))
        guard signed < 0 else {
            let length = UInt32(signed)
            let keep = min(Int(length), RFBCutText.prefixLimit)
            guard q.count >= 8 + keep else { return .blocked }
            return take(
                direction, header: 8 + keep, skip: UInt64(length) - UInt64(keep),
                make(.text(length: length, prefix: q.bytes(8, keep))))
        }
        let length = signed.magnitude
        let name = direction == .clientToServer ? "ClientCutText" : "ServerCutText"
        guard state.extendedClipboard else {
            return stop(
                direction, .malformed, at: q.offset,
                "\(name) with length -\(length) but the client did not announce ExtendedClipboard")
        }
        guard length >= 4 else {
            return stop(direction, .malformed, at: q.offset, "extended \(name) of \(length) bytes has no flags")
        }
        guard q.count >= 12 else { return .blocked }
        var clipboard = RFBExtendedClipboard(flags: q.u32(8))
        var header = 4
        if clipboard.isCaps {
            header += 4 * clipboard.formatCount
            guard length >= header else {
                return stop(
                    direction, .malformed, at: q.offset,
                    "extended \(name) caps of \(length) bytes lack the size of each format")
            }
            guard q.count >= 8 + header else { return .blocked }
            clipboard.maxSizes = (0..<clipboard.formatCount).map { q.u32(12 + 4 * $0) }
        }
        clipboard.dataLength = length - UInt32(header)
        return take(direction, header: 8 + header, skip: UInt64(clipboard.dataLength), make(.extended(clipboard)))
    }

    /// ClientFence or ServerFence: flags, a length byte and at most 64 bytes of payload.
    mutating func fence(_ direction: RFBDirection, _ make: (UInt32, [UInt8]) -> RFBMessage) -> Step {
        let q = sides[direction.index].queue
        guard q.count >= 9 else { return .blocked }
        let length = Int(q[8])
        guard length <= 64 else {
            return stop(direction, .malformed, at: q.offset, "fence payload of \(length) bytes (at most 64)")
        }
        guard q.count >= 9 + length else { return .blocked }
        return take(direction, 9 + length, make(q.u32(4), q.bytes(9, length)))
    }

    /// Stops `direction` after a security type whose handshake is not followed.
    mutating func unsupported(_ direction: RFBDirection, _ type: RFBSecurityType) -> Step {
        let offset = sides[direction.index].queue.offset
        return stop(
            direction, .unsupported, at: offset, "security type \(type) is not followed (only None and VNCAuth are)")
    }

    /// The ProtocolVersion heading `direction`'s stream, not yet taken; nil with the step to
    /// return (wait for bytes, or stop on bytes that are not one).
    mutating func readVersion(_ direction: RFBDirection) -> (RFBProtocolVersion?, Step) {
        let q = sides[direction.index].queue
        guard q.count >= 12 else { return (nil, .blocked) }
        guard let version = RFBProtocolVersion(q.bytes(0, 12)), version.layout != nil else {
            return (
                nil,
                stop(
                    direction, .malformed, at: q.offset, "not an RFB ProtocolVersion: \(Self.printable(q.bytes(0, 12)))"
                )
            )
        }
        return (version, .advanced)
    }

    static func screen(_ q: RFBByteQueue, at i: Int) -> RFBScreen {
        RFBScreen(
            id: q.u32(i), x: q.u16(i + 4), y: q.u16(i + 6), width: q.u16(i + 8), height: q.u16(i + 10),
            flags: q.u32(i + 12))
    }

    /// Bytes for an error message: printable ASCII as is, others as `\xNN`.
    static func printable(_ bytes: [UInt8]) -> String {
        var text = "\""
        for byte in bytes {
            if (0x20...0x7E).contains(byte) && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return text + "\""
    }
}
