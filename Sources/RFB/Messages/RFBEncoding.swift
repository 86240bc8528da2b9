/// An RFB encoding or pseudo-encoding number, as sent in SetEncodings and rectangle headers
/// (RFC 6143 §7.7–7.8, the rfbproto community specification and the IANA RFB registry).
public struct RFBEncoding: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let raw = RFBEncoding(0)
    public static let copyRect = RFBEncoding(1)
    public static let rre = RFBEncoding(2)
    public static let coRRE = RFBEncoding(4)
    public static let hextile = RFBEncoding(5)
    public static let zlib = RFBEncoding(6)
    public static let tight = RFBEncoding(7)
    public static let zlibHex = RFBEncoding(8)
    public static let trle = RFBEncoding(15)
    public static let zrle = RFBEncoding(16)
    public static let zywrle = RFBEncoding(17)
    public static let jpeg = RFBEncoding(21)
    public static let h264 = RFBEncoding(50)
    public static let desktopSize = RFBEncoding(-223)
    public static let lastRect = RFBEncoding(-224)
    public static let pointerPosition = RFBEncoding(-232)
    public static let cursor = RFBEncoding(-239)
    public static let xCursor = RFBEncoding(-240)
    public static let qemuPointerMotionChange = RFBEncoding(-257)
    public static let qemuExtendedKeyEvent = RFBEncoding(-258)
    public static let qemuAudio = RFBEncoding(-259)
    public static let tightPNG = RFBEncoding(-260)
    public static let qemuLEDState = RFBEncoding(-261)
    public static let gii = RFBEncoding(-305)
    public static let desktopName = RFBEncoding(-307)
    public static let extendedDesktopSize = RFBEncoding(-308)
    public static let xvp = RFBEncoding(-309)
    public static let fence = RFBEncoding(-312)
    public static let continuousUpdates = RFBEncoding(-313)
    public static let cursorWithAlpha = RFBEncoding(-314)
    public static let extendedMouseButtons = RFBEncoding(-316)
    public static let vmwareCursor = RFBEncoding(0x574D_5664)
    public static let extendedClipboard = RFBEncoding(Int32(bitPattern: 0xC0A1_E5CE))

    /// The named single numbers; ranges (levels, VMware, …) are handled in ``name``.
    private static let names: [Int32: String] = [
        0: "Raw", 1: "CopyRect", 2: "RRE", 4: "CoRRE", 5: "Hextile", 6: "Zlib", 7: "Tight", 8: "ZlibHex",
        9: "Ultra", 10: "Ultra2", 15: "TRLE", 16: "ZRLE", 17: "ZYWRLE", 21: "JPEG", 22: "JRLE", 50: "H.264",
        -223: "DesktopSize", -224: "LastRect", -232: "PointerPos", -239: "Cursor",
        -240: "XCursor", -257: "QEMUPointerMotionChange", -258: "QEMUExtendedKeyEvent", -259: "QEMUAudio",
        -260: "TightPNG", -261: "QEMULEDState", -305: "gii", -306: "popa", -307: "DesktopName",
        -308: "ExtendedDesktopSize", -309: "xvp", -310: "OLIVECallControl", -311: "ClientRedirect", -312: "Fence",
        -313: "ContinuousUpdates", -314: "CursorWithAlpha", -316: "ExtendedMouseButtons",
        0x574D_5664: "VMwareCursor", Int32(bitPattern: 0xC0A1_E5CE): "ExtendedClipboard",
        Int32(bitPattern: 0xC0A1_E5CF): "PluginStreaming",
    ]

    /// The name reports use: `Tight`, `DesktopSize`, `CompressLevel 6`, `QualityLevel 9`,
    /// `JPEGQuality 80`, `JPEGSubsampling 4X`; nil for numbers no table here knows.
    public var name: String? {
        if let name = Self.names[rawValue] { return name }
        switch rawValue {
        case -32 ... -23: return "QualityLevel \(rawValue + 32)"
        case -256 ... -247: return "CompressLevel \(rawValue + 256)"
        case -512 ... -412: return "JPEGQuality \(rawValue + 512)"
        case -768 ... -763: return "JPEGSubsampling " + ["1X", "4X", "2X", "Gray", "8X", "16X"][Int(rawValue + 768)]
        case 0x574D_5600...0x574D_56FF: return "VMware(0x" + String(UInt32(bitPattern: rawValue), radix: 16) + ")"
        default: return nil
        }
    }

    /// Whether the number declares a capability rather than a way to send pixels (every
    /// registered pseudo-encoding is negative, except the VMware and ExtendedClipboard ranges).
    public var isPseudo: Bool {
        rawValue < 0 && self != .tightPNG || (0x574D_5600...0x574D_56FF).contains(rawValue)
    }

    /// The name, or `unknown(1234)` for a number without one.
    public var description: String { name ?? "unknown(\(rawValue))" }
}
