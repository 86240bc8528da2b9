/// One-line descriptions of rectangles, as FramebufferUpdate descriptions list them.
extension RFBRectangle: CustomStringConvertible {
    /// `0,0 800x600 Raw (1920000 bytes)`, `10,10 16x16 CopyRect from 0,0`, `DesktopName "vm"`, ….
    public var description: String {
        let geometry = "\(x),\(y) \(width)x\(height)"
        let bytes = " (\(dataLength) bytes)"
        switch detail {
        case .copyRect(let sourceX, let sourceY):
            return "\(geometry) CopyRect from \(sourceX),\(sourceY)"
        case .desktopName(let name):
            return "DesktopName " + RFBJSONObject.quoted(name)
        case .screens(let screens):
            let reasons = ["server", "this client", "another client"]
            let reason = x < reasons.count ? reasons[Int(x)] : "reason \(x)"
            let statuses = ["ok", "prohibited", "out of resources", "invalid layout"]
            let status = y < statuses.count ? statuses[Int(y)] : "status \(y)"
            return "ExtendedDesktopSize \(width)x\(height) by \(reason) \(status) screens ["
                + screens.map(\.description).joined(separator: ", ") + "]"
        case .ledState(let state):
            return "QEMULEDState 0x\(String(state, radix: 16))"
        case .tight(let method):
            return "\(geometry) \(encoding) \(method)" + bytes
        case .h264(let flags):
            return "\(geometry) H.264 flags 0x\(String(flags, radix: 16))" + bytes
        case .vmwareCursor(let type):
            return "VMwareCursor \(width)x\(height) hotspot \(x),\(y) "
                + (type == 0 ? "classic" : "alpha") + bytes
        case .none:
            switch encoding {
            case .lastRect: return "LastRect"
            case .desktopSize: return "DesktopSize \(width)x\(height)"
            case .cursor, .xCursor:
                return "\(encoding) \(width)x\(height) hotspot \(x),\(y)" + bytes
            default:
                return encoding.isPseudo && dataLength == 0
                    ? "\(encoding)" : "\(geometry) \(encoding)" + bytes
            }
        }
    }
}
