import CLibDeflate
import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// CRC-32 (ISO-HDLC, the one zlib and PNG use) of `bytes`, continuing from `crc`.
/// libdeflate's implementation (carry-less multiply where the CPU has it) runs at ~8 GB/s here
/// against zlib's ~2.6 GB/s; both compute the same function.
@inline(__always) func crc32Of(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
    return libdeflate_crc32(crc, base, bytes.count)
}

/// Public CRC-32 over a byte array (for tools and tests).
public func recordCRC32(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBytes { crc32Of($0) }
}

/// A reusable raw-deflate compressor (RFC 1951, no zlib wrapper: blocks carry their own CRC-32).
final class BlockCompressor {
    private var stream = z_stream()
    private let level: Int32

    init(level: Int32) {
        self.level = level
        let status = deflateInit2_(
            &stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib deflateInit2 failed (\(status)): out of memory")
    }

    deinit { deflateEnd(&stream) }

    /// Compresses `input` whole; returns nil when the result would not be smaller than the input.
    func compress(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        guard input.count > 0 else { return nil }
        deflateReset(&stream)
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        let limit = min(bound, input.count - 1)
        guard limit > 0 else { return nil }
        let output = [UInt8](unsafeUninitializedCapacity: limit) { buffer, initialized in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = buffer.baseAddress!
            stream.avail_out = uInt(limit)
            let status = deflate(&stream, Z_FINISH)
            initialized = status == Z_STREAM_END ? Int(stream.total_out) : 0
        }
        return output.isEmpty ? nil : output
    }
}

/// A reusable raw-inflate decompressor.
final class BlockDecompressor {
    private var stream = z_stream()

    init() {
        let status = inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib inflateInit2 failed (\(status)): out of memory")
    }

    deinit { inflateEnd(&stream) }

    /// Inflates `input`, which must expand to exactly `expectedLength` bytes.
    func decompress(_ input: UnsafeRawBufferPointer, expectedLength: Int) -> Result<[UInt8], DecompressFailure> {
        inflateReset(&stream)
        var failure: DecompressFailure?
        let output = [UInt8](unsafeUninitializedCapacity: max(expectedLength, 1)) { buffer, initialized in
            initialized = 0
            guard let inBase = input.baseAddress else {
                failure = .init(message: "empty deflate stream")
                return
            }
            stream.next_in = UnsafeMutablePointer(mutating: inBase.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = buffer.baseAddress!
            stream.avail_out = uInt(expectedLength)
            let status = inflate(&stream, Z_FINISH)
            if status == Z_STREAM_END {
                if Int(stream.total_out) != expectedLength || stream.avail_in != 0 {
                    failure = .init(
                        message: "deflate stream gave \(stream.total_out) bytes, header says \(expectedLength)")
                } else {
                    initialized = expectedLength
                }
            } else if status == Z_BUF_ERROR || (status == Z_OK && stream.avail_out == 0) {
                failure = .init(message: "deflate stream is longer than the \(expectedLength) bytes the header declares")
            } else {
                let detail = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                failure = .init(message: "deflate stream is invalid: \(detail)")
            }
        }
        if let failure { return .failure(failure) }
        return .success(expectedLength == 0 ? [] : output)
    }

    struct DecompressFailure: Error {
        var message: String
    }
}

/// A cheap guess whether deflate would gain anything: the order-0 entropy of a few samples.
///
/// Deflate runs at ~35 MB/s on incompressible bytes here, so blocks that look random are stored.
/// Histogramming 16 KiB costs microseconds. Threshold 7.5 bits/byte: compressed or encrypted data
/// is ~7.95+, text ~4.5, raw pixels and protocol headers much lower. Blocks under 4 KiB are not
/// sampled (false). The proxy's permessage-deflate uses it too.
public func looksIncompressible(_ bytes: UnsafeRawBufferPointer) -> Bool {
    looksIncompressible(length: bytes.count) { range, histogram in
        for i in range { histogram[Int(bytes[i])] += 1 }
    }
}

/// The test of ``looksIncompressible(_:)`` over `length` bytes that need not be contiguous:
/// `count(range, histogram)` adds the bytes at `range` to the 256-bin histogram.
func looksIncompressible(
    length: Int, count: (Range<Int>, UnsafeMutableBufferPointer<Int>) -> Void
) -> Bool {
    let sampleLength = 2048
    let sampleCount = 8
    guard length >= sampleLength * 2 else { return false }
    var histogram = [Int](repeating: 0, count: 256)
    var total = 0
    let stride = (length - sampleLength) / (sampleCount - 1)
    histogram.withUnsafeMutableBufferPointer { h in
        for s in 0..<sampleCount {
            let start = s * stride
            count(start..<(start + sampleLength), h)
            total += sampleLength
        }
    }
    var entropy = 0.0
    let n = Double(total)
    for count in histogram where count > 0 {
        let p = Double(count) / n
        entropy -= p * log2(p)
    }
    return entropy > 7.5
}
