/// The body of ClientCutText or ServerCutText (RFC 6143 §7.5.6, §7.6.4): the classic Latin-1
/// text, or the Extended Clipboard form that a negative length announces.
public enum RFBCutText: Sendable, Hashable {
    /// Latin-1 text of `length` bytes; `prefix` keeps the first ``prefixLimit`` of them.
    case text(length: UInt32, prefix: [UInt8])
    /// The Extended Clipboard form (rfbproto, Extended Clipboard pseudo-encoding).
    case extended(RFBExtendedClipboard)

    /// How many bytes of a classic text are kept for reports.
    public static let prefixLimit = 256
}

/// An Extended Clipboard message: a U32 of action and format flags, then per action either
/// nothing, the largest size per format (caps) or zlib-compressed data (provide).
public struct RFBExtendedClipboard: Sendable, Hashable {
    public var flags: UInt32
    /// For `caps`: the size limit the sender accepts per format, in the order of the format bits.
    public var maxSizes: [UInt32]
    /// Bytes after the flags (and after the sizes, for caps): compressed data for `provide`.
    public var dataLength: UInt32

    public init(flags: UInt32, maxSizes: [UInt32] = [], dataLength: UInt32 = 0) {
        self.flags = flags
        self.maxSizes = maxSizes
        self.dataLength = dataLength
    }

    /// Action bits 24–28.
    public static let actionNames: [(bit: UInt32, name: String)] = [
        (1 << 24, "caps"), (1 << 25, "request"), (1 << 26, "peek"), (1 << 27, "notify"), (1 << 28, "provide"),
    ]
    /// Format bits 0–4; other bits of 0–15 are formats not named here.
    public static let formatNames: [(bit: UInt32, name: String)] = [
        (1 << 0, "text"), (1 << 1, "rtf"), (1 << 2, "html"), (1 << 3, "dib"), (1 << 4, "files"),
    ]

    /// The actions set, by name (`caps`, `provide`, …; `action(bit)` for bits without a name).
    public var actions: [String] { Self.names(of: flags & 0xFF00_0000, Self.actionNames, unnamed: "action") }
    /// The formats set, by name (`text`, `html`, …; `format(bit)` for bits without a name).
    public var formats: [String] { Self.names(of: flags & 0x0000_FFFF, Self.formatNames, unnamed: "format") }

    public var isCaps: Bool { flags & 1 << 24 != 0 }
    public var isProvide: Bool { flags & 1 << 28 != 0 }

    /// How many format bits are set: caps lists one size per format.
    public var formatCount: Int { (flags & 0xFFFF).nonzeroBitCount }

    private static func names(of bits: UInt32, _ table: [(bit: UInt32, name: String)], unnamed: String) -> [String] {
        (0..<32).compactMap { index -> String? in
            let bit = UInt32(1) << UInt32(index)
            guard bits & bit != 0 else { return nil }
            return table.first { $0.bit == bit }?.name ?? "\(unnamed)(\(index))"
        }
    }
}
