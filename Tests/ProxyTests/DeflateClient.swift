import CompressNIO
import NIOCore

/// A client's side of permessage-deflate for tests: compresses messages as RFC 7692 §7.2.1 says
/// (raw deflate, sync flush, the final 00 00 FF FF cut off), with or without context takeover, and
/// inflates what the proxy sends.
final class DeflateClient {
    private let compressor: ZlibCompressor
    private let decompressor: ZlibDecompressor
    private let takeover: Bool

    init(takeover: Bool = true, windowBits: Int32 = 15) throws {
        compressor = try ZlibCompressor(
            algorithm: .deflate, configuration: ZlibConfiguration(windowSize: windowBits, compressionLevel: 6))
        decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: 15)
        self.takeover = takeover
    }

    /// One message's compressed payload.
    func compress(_ message: [UInt8]) throws -> [UInt8] {
        var input = ByteBuffer(bytes: message)
        var output = ByteBuffer()
        output.reserveCapacity(compressor.maxSize(from: input))
        try compressor.deflate(from: &input, to: &output, flush: .sync)
        if !takeover { try compressor.reset() }
        let bytes = Array(output.readableBytesView)
        precondition(bytes.suffix(4) == [0, 0, 0xFF, 0xFF], "a sync flush ends with an empty stored block")
        return Array(bytes.dropLast(4))
    }

    /// One message compressed to a complete deflate stream (a last block with BFINAL set), as a
    /// sender may do (RFC 7692 §7.2.3.4… a sender that does not take over its context).
    static func compressFinished(_ message: [UInt8]) throws -> [UInt8] {
        var input = ByteBuffer(bytes: message)
        var output = ByteBuffer()
        let compressor = try ZlibCompressor(algorithm: .deflate)
        output.reserveCapacity(compressor.maxSize(from: input))
        try compressor.deflate(from: &input, to: &output, flush: .finish)
        return Array(output.readableBytesView)
    }

    /// Inflates one message the proxy sent compressed.
    func inflate(_ payload: [UInt8]) throws -> [UInt8] {
        var input = ByteBuffer(bytes: payload + [0, 0, 0xFF, 0xFF])
        var output = ByteBuffer()
        while true {
            output.reserveCapacity(minimumWritableBytes: 64 << 10)
            do {
                try decompressor.inflate(from: &input, to: &output)
                if input.readableBytes == 0 { break }
            } catch let error as CompressNIOError where error == .bufferOverflow {
                continue
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                break
            }
        }
        return Array(output.readableBytesView)
    }
}
