/// Tracks the size of an HTTP request's header block as bytes arrive, with no I/O.
///
/// The block ends at the first CRLFCRLF; a block longer than `limit` bytes is refused (431) before
/// the HTTP parser buffers it (NIO's parser alone accepts about 80 KiB).
public struct HeaderBlockLimit {
    public enum Verdict: Equatable {
        /// Still inside the header block and within the limit.
        case withinLimit
        /// The header block ended within the limit, after `bytesUsed` bytes of this feed; the rest
        /// of the feed follows the request.
        case complete(bytesUsed: Int)
        /// More than `limit` bytes without the end of the header block.
        case exceeded
    }

    /// The largest header block accepted, in bytes including the final CRLFCRLF.
    public let limit: Int
    private var seen = 0
    /// The last bytes seen, to find CRLFCRLF across reads.
    private var tail: UInt32 = 0
    /// Past the CR/LF bytes that may precede the request line.
    private var started = false

    public init(limit: Int) { self.limit = limit }

    /// Accounts for the next bytes read.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> Verdict where Bytes.Element == UInt8 {
        var used = 0
        for byte in bytes {
            seen += 1
            used += 1
            if !started {
                // Empty lines before the request line are ignored (RFC 9112 §2.2), not taken for
                // the end of an empty header block.
                if byte == 0x0D || byte == 0x0A {
                    if seen > limit { return .exceeded }
                    continue
                }
                started = true
            }
            tail = tail << 8 | UInt32(byte)
            if tail == 0x0D0A_0D0A { return .complete(bytesUsed: used) }
            if seen > limit { return .exceeded }
        }
        return .withinLimit
    }
}
