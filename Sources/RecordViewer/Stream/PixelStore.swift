import CZlib

/// Pixels kept for later: RGBX bytes (noVNC's own pixel format, see ``ViewerStreamWriter``)
/// deflated at zlib level 1, so that a long session's keyframes and repaints stay small.
struct PixelStore: Sendable {
    /// Bytes before deflating.
    let count: Int
    private let deflated: [UInt8]

    init(_ bytes: [UInt8]) {
        count = bytes.count
        var bound = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(bound))
        let status = compress2(&out, &bound, bytes, uLong(bytes.count), 1)
        // compress2 fails only without memory, or with a too-small output buffer (compressBound
        // rules that out): keep the bytes as they are then.
        deflated = status == Z_OK ? Array(out.prefix(Int(bound))) : bytes
        isDeflated = status == Z_OK
    }

    private let isDeflated: Bool

    /// Bytes kept, for the memory figure.
    var storedCount: Int { deflated.count }

    /// The original bytes.
    var bytes: [UInt8] {
        guard isDeflated else { return deflated }
        var length = uLong(count)
        var out = [UInt8](repeating: 0, count: count)
        let status = uncompress(&out, &length, deflated, uLong(deflated.count))
        precondition(status == Z_OK && Int(length) == count, "PixelStore: own zlib data does not inflate")
        return out
    }
}
