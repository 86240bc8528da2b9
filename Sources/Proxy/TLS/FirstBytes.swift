/// What a connection is, told from its first bytes, with no I/O: TLS and plain HTTP share the port.
public enum FirstBytes: Equatable, Sendable {
    /// A TLS handshake record (0x16), or an SSLv2-style client hello (high bit set, 0x80).
    case tls
    /// Adobe Flash's `<policy-file-request/>` followed by NUL.
    case flashPolicyRequest
    /// Anything else: plain HTTP, or garbage the HTTP parser will refuse.
    case plain
    /// Too few bytes yet to tell.
    case needMore

    /// The request Flash sends before opening a socket.
    static let policyRequest = Array("<policy-file-request/>".utf8) + [0]

    /// The answer: every domain may connect to every port.
    public static let policyResponse =
        #"<cross-domain-policy><allow-access-from domain="*" to-ports="*" /></cross-domain-policy>"# + "\0"

    /// Classifies a connection from the bytes received so far.
    public static func classify<Bytes: Collection>(_ bytes: Bytes) -> FirstBytes where Bytes.Element == UInt8 {
        guard let first = bytes.first else { return .needMore }
        if first == 0x16 || first == 0x80 { return .tls }
        guard first == UInt8(ascii: "<") else { return .plain }
        // Could be the policy request: compare as far as we have.
        for (got, want) in zip(bytes, policyRequest) where got != want {
            return .plain
        }
        return bytes.count >= policyRequest.count ? .flashPolicyRequest : .needMore
    }
}
