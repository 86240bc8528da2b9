/// Names and one-line descriptions for reports: `KeyEvent 'o' (0x6f) down`,
/// `SetEncodings [Tight, ZRLE, …]`, `FramebufferUpdate 3 rects: 0,0 800x600 Raw (1920000 bytes); …`.
extension RFBMessage: CustomStringConvertible {
    /// The message's name: `KeyEvent`, `FramebufferUpdate`, `SecurityTypes`, ….
    public var name: String {
        switch self {
        case .protocolVersion: "ProtocolVersion"
        case .securityTypes: "SecurityTypes"
        case .securityType: "SecurityType"
        case .securityFailure: "SecurityFailure"
        case .securityChoice: "SecurityChoice"
        case .vncAuthChallenge: "VNCAuthChallenge"
        case .vncAuthResponse: "VNCAuthResponse"
        case .securityResult: "SecurityResult"
        case .clientInit: "ClientInit"
        case .serverInit: "ServerInit"
        case .setPixelFormat: "SetPixelFormat"
        case .setEncodings: "SetEncodings"
        case .framebufferUpdateRequest: "FramebufferUpdateRequest"
        case .keyEvent: "KeyEvent"
        case .pointerEvent: "PointerEvent"
        case .clientCutText: "ClientCutText"
        case .enableContinuousUpdates: "EnableContinuousUpdates"
        case .clientFence: "ClientFence"
        case .setDesktopSize: "SetDesktopSize"
        case .qemuExtendedKeyEvent: "QEMUExtendedKeyEvent"
        case .qemuAudioControl: "QEMUAudio"
        case .framebufferUpdate: "FramebufferUpdate"
        case .setColourMapEntries: "SetColourMapEntries"
        case .bell: "Bell"
        case .serverCutText: "ServerCutText"
        case .endOfContinuousUpdates: "EndOfContinuousUpdates"
        case .serverFence: "ServerFence"
        case .qemuAudio: "QEMUAudio"
        case .xvp: "xvp"
        }
    }

    /// The name of message type `type` from `direction`'s sender: `KeyEvent`, `Bell`, or
    /// `message type 200` for one not known.
    public static func typeName(_ type: UInt8, from direction: RFBDirection) -> String {
        let names: [UInt8: String] =
            direction == .clientToServer
            ? [
                0: "SetPixelFormat", 2: "SetEncodings", 3: "FramebufferUpdateRequest", 4: "KeyEvent", 5: "PointerEvent",
                6: "ClientCutText", 150: "EnableContinuousUpdates", 248: "ClientFence", 250: "xvp",
                251: "SetDesktopSize",
                255: "QEMU client message",
            ]
            : [
                0: "FramebufferUpdate", 1: "SetColourMapEntries", 2: "Bell", 3: "ServerCutText",
                150: "EndOfContinuousUpdates",
                248: "ServerFence", 250: "xvp", 255: "QEMU server message",
            ]
        return names[type] ?? "message type \(type)"
    }

    /// How many rectangles a FramebufferUpdate description lists before summarising the rest.
    public static let describedRectangles = 8

    /// The name and what the message says, on one line.
    public var description: String {
        switch self {
        case .protocolVersion(let version):
            return "ProtocolVersion \(version)"
        case .securityTypes(let types):
            return "SecurityTypes [" + types.map(\.description).joined(separator: ", ") + "]"
        case .securityType(let type):
            return "SecurityType \(type)"
        case .securityFailure(let reason):
            return "SecurityFailure " + Self.quoted(reason)
        case .securityChoice(let type):
            return "SecurityChoice \(type)"
        case .vncAuthChallenge:
            return "VNCAuthChallenge challenge (16 bytes, redacted)"
        case .vncAuthResponse:
            return "VNCAuthResponse response (16 bytes, redacted)"
        case .securityResult(let status, let reason):
            let outcome = status == 0 ? "OK" : status == 2 ? "failed, too many attempts" : "failed (\(status))"
            return "SecurityResult \(outcome)" + (reason.map { " " + Self.quoted($0) } ?? "")
        case .clientInit(let shared):
            return "ClientInit " + (shared ? "shared" : "exclusive")
        case .serverInit(let width, let height, let format, let name):
            return "ServerInit \(width)x\(height) \(Self.quoted(name)) \(format)"
        case .setPixelFormat(let format):
            return "SetPixelFormat \(format)"
        case .setEncodings(let encodings):
            return "SetEncodings [" + encodings.map(\.description).joined(separator: ", ") + "]"
        case .framebufferUpdateRequest(let incremental, let x, let y, let width, let height):
            return "FramebufferUpdateRequest " + (incremental ? "incremental" : "full")
                + " \(x),\(y) \(width)x\(height)"
        case .keyEvent(let down, let keysym):
            return "KeyEvent \(keysym) " + (down ? "down" : "up")
        case .pointerEvent(let buttons, let x, let y, let extended):
            return "PointerEvent \(x),\(y) buttons " + Self.buttons(buttons) + (extended ? " (extended)" : "")
        case .clientCutText(let text):
            return "ClientCutText " + Self.describe(text)
        case .enableContinuousUpdates(let enable, let x, let y, let width, let height):
            return "EnableContinuousUpdates " + (enable ? "on" : "off") + " \(x),\(y) \(width)x\(height)"
        case .clientFence(let flags, let payload):
            return "ClientFence " + Self.fence(flags, payload)
        case .setDesktopSize(let width, let height, let screens):
            return "SetDesktopSize \(width)x\(height) screens [" + screens.map(\.description).joined(separator: ", ")
                + "]"
        case .qemuExtendedKeyEvent(let down, let keysym, let keycode):
            return "QEMUExtendedKeyEvent \(keysym) keycode 0x\(String(keycode, radix: 16)) " + (down ? "down" : "up")
        case .qemuAudioControl(let operation, let format):
            switch operation {
            case 0: return "QEMUAudio enable"
            case 1: return "QEMUAudio disable"
            default: return "QEMUAudio set format" + (format.map { " \($0)" } ?? "")
            }
        case .framebufferUpdate(let update):
            return Self.describe(update)
        case .setColourMapEntries(let first, let count):
            return "SetColourMapEntries \(count) colours from \(first)"
        case .bell:
            return "Bell"
        case .serverCutText(let text):
            return "ServerCutText " + Self.describe(text)
        case .endOfContinuousUpdates:
            return "EndOfContinuousUpdates"
        case .serverFence(let flags, let payload):
            return "ServerFence " + Self.fence(flags, payload)
        case .qemuAudio(let operation, let length):
            switch operation {
            case 0: return "QEMUAudio end"
            case 1: return "QEMUAudio begin"
            default: return "QEMUAudio data (\(length ?? 0) bytes)"
            }
        case .xvp(let version, let code):
            let codes = ["fail", "init", "shutdown", "reboot", "reset"]
            return "xvp v\(version) " + (code < codes.count ? codes[Int(code)] : "code \(code)")
        }
    }

    /// `0x01 (left)`, `0x00 (none)`; bits 0–8 are left, middle, right, wheel up/down/left/right,
    /// back, forward.
    static func buttons(_ mask: UInt16) -> String {
        let names = [
            "left", "middle", "right", "wheel-up", "wheel-down", "wheel-left", "wheel-right", "back", "forward",
        ]
        let set = names.indices.filter { mask & 1 << UInt16($0) != 0 }.map { names[$0] }
        let hex = String(mask, radix: 16)
        return "0x" + (hex.count < 2 ? "0" : "") + hex + " (" + (set.isEmpty ? "none" : set.joined(separator: "+"))
            + ")"
    }

    static func describe(_ text: RFBCutText) -> String {
        switch text {
        case .text(let length, let prefix):
            let shown = Self.quoted(String(prefix.map { Character(Unicode.Scalar($0)) }))
            return "\(length) bytes \(shown)" + (Int(length) > prefix.count ? "…" : "")
        case .extended(let clipboard):
            var text =
                "extended " + clipboard.actions.joined(separator: "+") + " ["
                + clipboard.formats.joined(separator: ", ") + "]"
            if clipboard.isCaps {
                text += " max sizes [" + clipboard.maxSizes.map(String.init).joined(separator: ", ") + "]"
            }
            if clipboard.dataLength > 0 {
                text += " (\(clipboard.dataLength) bytes" + (clipboard.isProvide ? " compressed)" : ")")
            }
            return text
        }
    }

    static func fence(_ flags: UInt32, _ payload: [UInt8]) -> String {
        let names: [(UInt32, String)] = [(1, "BlockBefore"), (2, "BlockAfter"), (4, "SyncNext"), (1 << 31, "Request")]
        var set = names.filter { flags & $0.0 != 0 }.map(\.1)
        let other = flags & ~(1 | 2 | 4 | 1 << 31)
        if other != 0 { set.append("0x" + String(other, radix: 16)) }
        return "[" + set.joined(separator: ", ") + "] payload \(payload.count) bytes"
    }

    static func describe(_ update: RFBFramebufferUpdate) -> String {
        let count = update.rectangles.count
        var text = "FramebufferUpdate \(count) rect" + (count == 1 ? "" : "s")
        if update.endedByLastRect { text += " (ended by LastRect)" }
        guard count > 0 else { return text }
        let shown = update.rectangles.prefix(describedRectangles).map(\.description)
        text += ": " + shown.joined(separator: "; ")
        if count > shown.count {
            let rest = update.rectangles.dropFirst(shown.count)
            text += "; … \(rest.count) more (\(rest.reduce(0) { $0 + $1.dataLength }) bytes)"
        }
        return text
    }

    /// Text in double quotes, escaped as a JSON string.
    static func quoted(_ text: String) -> String { RFBJSONObject.quoted(text) }
}

extension RFBParseEvent: CustomStringConvertible {
    /// The message's description, or the problem's.
    public var description: String {
        switch self {
        case .message(let parsed): parsed.message.description
        case .problem(let problem): problem.description
        }
    }
}
