/// Where one of a session's zlib streams stands between two messages, as a keyframe keeps it.
///
/// Servers end each rectangle's zlib data with a sync flush, so between messages a stream is
/// normally at a byte-aligned deflate block boundary, and all a later block can need is the
/// output it may refer back to: the last 32 KiB (the window). A stream caught anywhere else
/// cannot be kept this way, and the decoder then has no snapshot to give.
public enum RFBZlibStreamState: Sendable, Hashable {
    /// Nothing read yet, or reset (Tight): the next data starts with a zlib header.
    case fresh
    /// Past the zlib header, between deflate blocks: the last output (at most 32 KiB) later
    /// blocks may copy from. Resumed as a raw inflater given this as its dictionary.
    case window([UInt8])
    /// The stream broke at this offset of the server's stream; later data in it is not inflated.
    case broken(at: UInt64)
}
