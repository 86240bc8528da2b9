import CZlib

/// One zlib stream that lasts a whole session (ZRLE: every rectangle's data continues the
/// stream of the one before, each ending at a sync flush).
final class RFBInflater {
    private var stream = z_stream()
    private var initialized = false

    struct Failure: Error {
        var message: String
    }

    init() {}

    deinit {
        if initialized { inflateEnd(&stream) }
    }

    /// Inflates the next piece of the stream: everything it yields.
    func inflate(_ input: UnsafeBufferPointer<UInt8>) throws(Failure) -> [UInt8] {
        if !initialized {
            let status = inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else { throw Failure(message: "zlib inflateInit failed (\(status))") }
            initialized = true
        }
        guard let base = input.baseAddress, !input.isEmpty else { return [] }
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: max(input.count * 4, 64 * 1024))
        stream.next_in = UnsafeMutablePointer(mutating: base)
        stream.avail_in = uInt(input.count)
        while true {
            let (status, produced) = chunk.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                let status = CZlib.inflate(&stream, Z_SYNC_FLUSH)
                return (status, out.count - Int(stream.avail_out))
            }
            output += chunk[0..<produced]
            switch status {
            case Z_OK where stream.avail_in == 0 && stream.avail_out > 0:
                return output
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0:
                return output
            case Z_STREAM_END:
                throw Failure(message: "the zlib stream ended (a session's stream never ends)")
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw Failure(message: "zlib data is invalid: \(detail)")
            }
        }
    }
}
