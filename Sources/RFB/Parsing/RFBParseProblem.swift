/// Why a direction of an RFB session stopped being followed, and where. After a problem that
/// direction's later bytes are not attributed to messages: the parser never guesses.
public struct RFBParseProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// A message type, sub-type or rectangle encoding whose length is not known.
        case unknown
        /// Bytes that break the protocol (a bad version string, an invalid Tight control, …).
        case malformed
        /// A security type whose handshake is not followed (VeNCrypt, Tight, TLS, …).
        case unsupported
        /// The recording replaced these bytes with filler (`--record-redact`).
        case redacted
        /// The stream ends inside a message.
        case truncated
        /// Bytes are missing from the middle of the stream (a recording that lost records).
        case lost
    }

    public var direction: RFBDirection
    public var kind: Kind
    /// Offset of the message that could not be parsed (its first byte) in the sender's stream.
    public var offset: UInt64
    /// What went wrong, for a person.
    public var detail: String

    public init(direction: RFBDirection, kind: Kind, offset: UInt64, detail: String) {
        self.direction = direction
        self.kind = kind
        self.offset = offset
        self.detail = detail
    }

    /// `unknown client message type 200 at offset 1234; later client bytes are not followed`.
    public var description: String {
        let tail =
            kind == .truncated ? "" : "; later \(direction.senderName) bytes are not followed"
        return "\(kind.rawValue): \(detail) at \(direction.senderName) offset \(offset)\(tail)"
    }
}
