/// A ProtocolVersion message, `RFB xxx.yyy\n` (RFC 6143 §7.1.1).
public struct RFBProtocolVersion: Sendable, Hashable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    /// The message layouts a version selects. Only 3.3, 3.7 and 3.8 are published; the spec says
    /// other 3.x numbers below 3.7 (3.5, reported by some old clients) are 3.3, and later minor or
    /// major numbers (Apple's 3.889) talk 3.8.
    public enum Layout: Int, Sendable, Comparable {
        case v33 = 3
        case v37 = 7
        case v38 = 8

        public static func < (a: Layout, b: Layout) -> Bool { a.rawValue < b.rawValue }
    }

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// Reads the 12 bytes of a ProtocolVersion message; nil unless they read `RFB ddd.ddd\n`.
    public init?(_ bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard b.count == 12, Array(b[0..<4]) == Array("RFB ".utf8), b[7] == UInt8(ascii: "."), b[11] == 0x0A
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in b[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let major = number(4..<7), let minor = number(8..<11) else { return nil }
        self.init(major: major, minor: minor)
    }

    /// Which message layouts this version uses; nil below 3.0 (not RFB as published).
    public var layout: Layout? {
        if major > 3 { return .v38 }
        guard major == 3 else { return nil }
        switch minor {
        case ..<7: return .v33
        case 7: return .v37
        default: return .v38
        }
    }

    /// `3.8`.
    public var description: String { "\(major).\(minor)" }
}
