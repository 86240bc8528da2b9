import CZlib

/// One zlib stream that lasts a whole session (ZRLE; each of Tight's four): every rectangle's
/// data continues the stream of the one before, each ending at a sync flush. It can say where it
/// stands (``state``) and be made again from that, for keyframes.
final class RFBInflater {
    private var stream = z_stream()
    private var initialized = false
    /// Whether the last inflate that moved stopped at a deflate block boundary on a byte boundary
    /// (zlib's `data_type`: bit 7 set, not in the last block, no bits left over).
    private var atBlockBoundary = true
    /// Where the stream broke, if it did (set by the decoder that reads it).
    var brokenAt: UInt64?

    /// The largest deflate window, and so the most output a later block can refer back to.
    static let windowSize = 1 << 15

    struct Failure: Error {
        var message: String
    }

    init() {}

    /// A stream that goes on from `state` (restored as a raw inflater given the window).
    init(state: RFBZlibStreamState) throws(Failure) {
        switch state {
        case .fresh:
            break
        case .broken(let offset):
            brokenAt = offset
        case .window(let window):
            guard window.count <= Self.windowSize else {
                throw Failure(message: "a zlib window of \(window.count) bytes (at most \(Self.windowSize))")
            }
            let status = inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else { throw Failure(message: "zlib inflateInit2 failed (\(status))") }
            initialized = true
            guard !window.isEmpty else { return }
            let set = window.withUnsafeBufferPointer { inflateSetDictionary(&stream, $0.baseAddress, uInt($0.count)) }
            guard set == Z_OK else { throw Failure(message: "zlib inflateSetDictionary failed (\(set))") }
        }
    }

    deinit {
        if initialized { inflateEnd(&stream) }
    }

    /// Where the stream stands; nil when it is not at a block boundary (it cannot be resumed from
    /// its window alone).
    var state: RFBZlibStreamState? {
        if let brokenAt { return .broken(at: brokenAt) }
        guard initialized else { return .fresh }
        guard atBlockBoundary else { return nil }
        var window = [UInt8](repeating: 0, count: Self.windowSize)
        var length: uInt = 0
        let status = window.withUnsafeMutableBufferPointer { inflateGetDictionary(&stream, $0.baseAddress, &length) }
        guard status == Z_OK else { return nil }
        return .window(Array(window[0..<Int(length)]))
    }

    /// Starts the stream again: the next data begins with a zlib header (Tight's reset bits).
    func reset() {
        if initialized { inflateEnd(&stream) }
        stream = z_stream()
        initialized = false
        atBlockBoundary = true
        brokenAt = nil
    }

    /// Inflates the next piece of the stream: everything it yields, which may not be more than
    /// `limit` bytes (what the rectangle can need at most: a few compressed bytes must not
    /// fill the memory).
    func inflate(_ input: UnsafeBufferPointer<UInt8>, limit: Int = .max) throws(Failure) -> [UInt8] {
        var output = [UInt8]()
        try run(input, limit: limit, chunkSize: max(input.count * 4, 64 * 1024)) { output += $0 }
        return output
    }

    /// Inflates the next piece of the stream and throws the output away, a chunk at a time (for a
    /// rectangle that is not drawn: only the stream's state matters); how many bytes it gave, at
    /// most `limit`. Never holds more than one chunk, however large the rectangle says it is.
    func discard(_ input: UnsafeBufferPointer<UInt8>, limit: Int = .max) throws(Failure) -> Int {
        var count = 0
        try run(input, limit: limit, chunkSize: Self.discardChunkSize) { count += $0.count }
        return count
    }

    /// The output buffer of ``discard(_:limit:)``.
    static let discardChunkSize = 256 * 1024

    /// Inflates `input` into chunks of `chunkSize` bytes handed to `consume`; throws once the
    /// output passes `limit`.
    private func run(
        _ input: UnsafeBufferPointer<UInt8>, limit: Int, chunkSize: Int, _ consume: (ArraySlice<UInt8>) -> Void
    ) throws(Failure) {
        if !initialized {
            let status = inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else { throw Failure(message: "zlib inflateInit failed (\(status))") }
            initialized = true
        }
        guard let base = input.baseAddress, !input.isEmpty else { return }
        var total = 0
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        stream.next_in = UnsafeMutablePointer(mutating: base)
        stream.avail_in = uInt(input.count)
        defer {
            stream.next_in = nil
            stream.avail_in = 0
        }
        while true {
            let availableBefore = stream.avail_in
            let (status, produced) = chunk.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                // Z_BLOCK stops at each block boundary, where data_type then says so.
                let status = CZlib.inflate(&stream, Z_BLOCK)
                return (status, out.count - Int(stream.avail_out))
            }
            stream.next_out = nil
            total += produced
            guard total <= limit else {
                throw Failure(message: "zlib data inflates to more than the \(limit) bytes the rectangle can use")
            }
            consume(chunk[0..<produced])
            if produced > 0 || stream.avail_in != availableBefore {
                let type = stream.data_type
                atBlockBoundary = type & 128 != 0 && type & 64 == 0 && type & 63 == 0
            }
            switch status {
            case Z_OK where stream.avail_in == 0 && stream.avail_out > 0:
                return
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0:
                return
            case Z_STREAM_END:
                throw Failure(message: "the zlib stream ended (a session's stream never ends)")
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw Failure(message: "zlib data is invalid: \(detail)")
            }
        }
    }
}
