/// An X11 keysym as sent in KeyEvent (RFC 6143 §7.5.4), named from X11's keysymdef.h.
public struct RFBKeysym: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// One entry of the generated table: the first name keysymdef.h gives the value, and the
    /// character when the header maps the keysym exactly to one.
    struct Entry: Sendable {
        var name: String
        var scalar: Unicode.Scalar?
    }

    /// The table of ``generatedTable``, parsed once on first use.
    static let entries: [UInt32: Entry] = {
        var entries: [UInt32: Entry] = [:]
        for line in generatedTable.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let value = UInt32(fields[0], radix: 16) else { continue }
            let scalar = fields.count > 2 ? UInt32(fields[2], radix: 16).flatMap(Unicode.Scalar.init) : nil
            entries[value] = Entry(name: String(fields[1]), scalar: scalar)
        }
        return entries
    }()

    /// The keysymdef.h name without `XK_` (`Return`, `Shift_L`, `o`), or `U20AC` for a Unicode
    /// keysym (0x01000000 + code point) the header does not name; nil when unknown.
    public var name: String? {
        if let entry = Self.entries[rawValue] { return entry.name }
        guard let scalar = unicodeScalar else { return nil }
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// The character the keysym types: Latin-1 keysyms are their own code points, Unicode
    /// keysyms are 0x01000000 + code point (keysymdef.h), others per the header's exact mapping.
    public var unicodeScalar: Unicode.Scalar? {
        switch rawValue {
        case 0x20...0x7E, 0xA0...0xFF: return Unicode.Scalar(rawValue)
        case 0x0100_0100...0x0110_FFFF: return Unicode.Scalar(rawValue - 0x0100_0000)
        default: return Self.entries[rawValue]?.scalar
        }
    }

    /// For reports: `'o' (0x6f)` for a printable Latin-1 keysym, `Return (0xff0d)` for a named
    /// key, `U+20AC '€' (0x10020ac)` for a Unicode keysym, `Cyrillic_a 'а' (0x6c1)` for a named
    /// one that types a character, `keysym 0x12345` for a number X11 does not define.
    public var description: String {
        let hex = "0x" + String(rawValue, radix: 16)
        let shown = unicodeScalar.flatMap(Self.visible)
        if rawValue <= 0xFF, let shown { return "\(shown) (\(hex))" }
        if (0x0100_0100...0x0110_FFFF).contains(rawValue), Self.entries[rawValue] == nil, let scalar = unicodeScalar {
            let hexPoint = String(scalar.value, radix: 16, uppercase: true)
            let point = "U+" + String(repeating: "0", count: max(0, 4 - hexPoint.count)) + hexPoint
            return point + (shown.map { " \($0)" } ?? "") + " (\(hex))"
        }
        guard let name else { return "keysym \(hex)" }
        return name + (shown.map { " \($0)" } ?? "") + " (\(hex))"
    }

    /// The character in single quotes, or nil for controls, separators and unassigned code points
    /// (those read better as their names).
    private static func visible(_ scalar: Unicode.Scalar) -> String? {
        if scalar == " " { return "' '" }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
            .spaceSeparator:
            return nil
        default:
            return "'\(Character(scalar))'"
        }
    }
}
