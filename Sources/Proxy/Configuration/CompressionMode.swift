/// Whether sessions may use permessage-deflate (RFC 7692) with clients (`--compression`).
public enum CompressionMode: String, Sendable, Equatable, CaseIterable {
    /// Never: the extension is not agreed, whatever the client offers.
    case off
    /// When the client offers it (browsers always do): target-to-client messages are compressed
    /// when they are worth it (``AdaptiveCompressionPolicy``), client messages inflated.
    case auto
}
