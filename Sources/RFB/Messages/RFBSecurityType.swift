/// An RFB security type number (RFC 6143 §7.1.2 and the IANA RFB registry).
public struct RFBSecurityType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let invalid = RFBSecurityType(rawValue: 0)
    public static let none = RFBSecurityType(rawValue: 1)
    public static let vncAuthentication = RFBSecurityType(rawValue: 2)

    /// The registered name (`None`, `VNCAuth`, `VeNCrypt`, …), nil for numbers this table lacks.
    public var name: String? {
        switch rawValue {
        case 0: "Invalid"
        case 1: "None"
        case 2: "VNCAuth"
        case 5: "RA2"
        case 6: "RA2ne"
        case 16: "Tight"
        case 17: "Ultra"
        case 18: "TLS"
        case 19: "VeNCrypt"
        case 20: "SASL"
        default: nil
        }
    }

    /// `VNCAuth (2)`, or `type 30` for an unnamed number.
    public var description: String { name.map { "\($0) (\(rawValue))" } ?? "type \(rawValue)" }
}
