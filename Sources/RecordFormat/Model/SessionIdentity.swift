/// A session's stable identity across files (format 1.4, open tag 10): a random UUID and the name of
/// the proxy instance that recorded it. A session that goes on after its recording was rotated has
/// an open record with the same identity in every file it spans, so tools can join its parts.
public struct SessionIdentity: Sendable, Hashable {
    /// The 16 bytes of an RFC 9562 UUID (version 4: random).
    public var uuid: [UInt8]
    /// The instance that recorded the session, e.g. the host name; may be empty.
    public var instance: String

    /// `uuid` must hold exactly 16 bytes.
    public init?(uuid: [UInt8], instance: String) {
        guard uuid.count == 16 else { return nil }
        self.uuid = uuid
        self.instance = instance
    }

    /// A new random (version 4) identity.
    public static func random(instance: String) -> SessionIdentity {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 9562 variant
        return SessionIdentity(uuid: bytes, instance: instance)!
    }

    /// The UUID in its usual text form, lower-case: `8-4-4-4-12` hex digits.
    public var uuidString: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in uuid.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `UUID@instance` (just the UUID when the instance is empty): how dumps and logs show it.
    public var description: String { instance.isEmpty ? uuidString : "\(uuidString)@\(instance)" }
}
