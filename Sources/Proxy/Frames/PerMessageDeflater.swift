import CompressNIO
import NIOCore
import RecordFormat

/// Compresses the messages the proxy sends to a client under permessage-deflate (RFC 7692 §7.2.1):
/// each message is deflated with a sync flush and the flush's empty stored block (00 00 FF FF) is
/// cut off its end; the frame then goes with RSV1 set.
///
/// Whether a message is compressed at all is the ``AdaptiveCompressionPolicy``'s call; an
/// uncompressed message (RSV1 clear) is always valid, and does not touch the compressor's window.
/// Once a message went through the compressor it must be sent compressed, even if it grew, since
/// with context takeover later messages may refer back to it.
///
/// The zlib stream is made on the first message worth compressing (an idle session holds none),
/// with the agreed window (``PerMessageDeflate/serverMaxWindowBits``) at level 1: on this kind of
/// data (pixels, terminal text) it keeps most of the gain of higher levels at a fraction of the CPU.
/// With `server_no_context_takeover` it is reset after every message.
public final class PerMessageDeflater {
    private let parameters: PerMessageDeflate
    private var compressor: ZlibCompressor?
    private var policy = AdaptiveCompressionPolicy()
    /// A compressor error leaves its state unknown: nothing is compressed after one.
    private var broken = false
    /// Counts what compression saved; nil without metrics.
    var meter: CompressionMeter?

    public init(parameters: PerMessageDeflate) {
        self.parameters = parameters
    }

    /// The compressed payload for a message of `payload`, or nil to send it as it is.
    public func compress(_ payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard !broken, payload.withUnsafeReadableBytes({ policy.shouldCompress($0) }),
            let stream = stream()
        else { return nil }
        var input = payload
        var output = allocator.buffer(capacity: stream.maxSize(from: input))
        do {
            // deflateBound (+ the flush marker) fits any input; loop all the same should zlib
            // ever want more room.
            while true {
                if output.writableBytes == 0 { output.reserveCapacity(minimumWritableBytes: 4096) }
                do {
                    try stream.deflate(from: &input, to: &output, flush: .sync)
                } catch let error as CompressNIOError where error == .bufferOverflow && input.readableBytes == 0 {
                    break  // nothing was left to flush
                }
                if input.readableBytes == 0 && output.writableBytes > 0 { break }
            }
            guard output.readableBytes >= 4,
                output.getBytes(at: output.writerIndex - 4, length: 4) == PerMessageInflater.trailer
            else { throw CompressNIOError.internalError }
            output.moveWriterIndex(to: output.writerIndex - 4)
            if parameters.serverNoContextTakeover { try stream.reset() }
        } catch {
            broken = true
            compressor = nil
            return nil
        }
        policy.compressed(from: payload.readableBytes, to: output.readableBytes)
        meter?.count(.targetToClient, payloadBytes: payload.readableBytes, wireBytes: output.readableBytes)
        return output
    }

    private func stream() -> ZlibCompressor? {
        if let compressor { return compressor }
        let configuration = ZlibConfiguration(
            windowSize: Int32(parameters.serverMaxWindowBits), compressionLevel: 1, memoryLevel: 8, strategy: .default)
        compressor = try? ZlibCompressor(algorithm: .deflate, configuration: configuration)
        if compressor == nil { broken = true }
        return compressor
    }
}
