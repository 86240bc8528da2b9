/// WebSocket close status codes the proxy sends or checks (RFC 6455 §7.4).
public enum CloseCode {
    /// 1000: normal closure.
    public static let normal: UInt16 = 1000
    /// 1001: the endpoint is going away (server shutdown).
    public static let goingAway: UInt16 = 1001
    /// 1002: protocol error.
    public static let protocolError: UInt16 = 1002
    /// 1007: payload not consistent with the message type (e.g. invalid UTF-8 in text).
    public static let invalidPayload: UInt16 = 1007
    /// 1008: policy violation.
    public static let policyViolation: UInt16 = 1008
    /// 1009: message too big to process.
    public static let messageTooBig: UInt16 = 1009
    /// 1011: the server met an unexpected condition (here: the target failed).
    public static let internalError: UInt16 = 1011

    /// True when `code` may appear in a close frame on the wire (RFC 6455 §7.4.1, §7.4.2 and the
    /// IANA registry's 1012–1014); 1004, 1005, 1006 and 1015 are reserved for local use only.
    public static func isValidOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014: true
        case 3000...4999: true
        default: false
        }
    }

    /// The payload of a close frame with `code` and `reason` (RFC 6455 §5.5.1): empty without a
    /// code; the reason is cut to fit the 125-byte control-frame limit without splitting a character.
    public static func payload(code: UInt16?, reason: String) -> [UInt8] {
        guard let code else { return [] }
        var reasonBytes = Array(reason.utf8.prefix(123))
        // Continuation bytes are 0b10xxxxxx: drop a character cut in half.
        while let last = reasonBytes.last, String(validating: reasonBytes, as: UTF8.self) == nil, last & 0x80 != 0 {
            reasonBytes.removeLast()
        }
        return [UInt8(code >> 8), UInt8(code & 0xFF)] + reasonBytes
    }
}
