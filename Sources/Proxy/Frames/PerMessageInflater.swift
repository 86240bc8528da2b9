import CompressNIO
import NIOCore
import RecordFormat

/// Inflates the compressed messages a client sends under permessage-deflate (RFC 7692 §7.2.2),
/// frame by frame, never producing more than a message may hold.
///
/// The output of each frame is bounded by what is left of the message limit: the output buffer
/// grows (doubling) only up to one byte past that limit, so a "zip bomb" — a few KiB that would
/// inflate to gigabytes — stops at the limit and is refused instead of being allocated.
///
/// The zlib stream is made on the first compressed message and kept across messages (context
/// takeover) unless the client said `client_no_context_takeover`. It always uses a 15-bit window,
/// which reads what was compressed with any smaller one.
final class PerMessageInflater {
    enum Failure: Error, Equatable {
        /// The message would inflate past the limit.
        case tooBig
        /// Not a valid deflate stream.
        case corrupt(String)
    }

    /// The empty stored block a sender strips from the end of each message (RFC 7692 §7.2.1),
    /// put back before inflating the message's last frame.
    static let trailer: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]
    /// The output buffer of a frame starts at this size (or a few times the input), then doubles.
    static let initialOutputCapacity = 16 << 10

    private let resetAfterEachMessage: Bool
    private var decompressor: ZlibDecompressor?
    private lazy var trailerBuffer = ByteBuffer(bytes: Self.trailer)
    /// Counts what compression saved; nil without metrics.
    var meter: CompressionMeter?

    init(resetAfterEachMessage: Bool) {
        self.resetAfterEachMessage = resetAfterEachMessage
    }

    /// Inflates one frame's payload of a compressed message; `limit` is how many bytes the message
    /// may still grow by. After the message's last frame the stream is ready for the next message.
    func inflate(
        _ payload: ByteBuffer, isFinal: Bool, limit: Int, allocator: ByteBufferAllocator
    ) -> Result<ByteBuffer, Failure> {
        let stream: ZlibDecompressor
        if let decompressor {
            stream = decompressor
        } else {
            do {
                stream = try ZlibDecompressor(algorithm: .deflate, windowSize: 15)
            } catch {
                return .failure(.corrupt("cannot start a zlib stream: \(error)"))
            }
            decompressor = stream
        }
        var input = payload
        let expected = max(Self.initialOutputCapacity, payload.readableBytes * 4)
        var output = allocator.buffer(capacity: min(expected, Self.capacity(limit)))
        var ended = false
        do {
            if input.readableBytes > 0 { ended = try run(stream, &input, into: &output, limit: limit) }
            if ended, input.readableBytes > 0 {
                return .failure(.corrupt("data after the final deflate block"))
            }
            if isFinal {
                var trailer = trailerBuffer
                // After a final block (BFINAL) the trailer is left unread: that is the stream's end.
                ended = try run(stream, &trailer, into: &output, limit: limit) || ended
            }
        } catch {
            self.decompressor = nil
            return .failure(error)
        }
        meter?.count(.clientToTarget, payloadBytes: output.readableBytes, wireBytes: payload.readableBytes)
        if ended || (isFinal && resetAfterEachMessage) {
            do { try stream.reset() } catch { self.decompressor = nil }
        }
        return .success(output)
    }

    /// The most output a frame may be given: one byte past the limit tells "too big".
    private static func capacity(_ limit: Int) -> Int {
        limit < Int.max ? limit + 1 : limit
    }

    /// Inflates all of `input` into `output` (at most `limit` bytes in all); true when the deflate
    /// stream ended (a block with BFINAL), which leaves the rest of `input` unread.
    private func run(
        _ stream: ZlibDecompressor, _ input: inout ByteBuffer, into output: inout ByteBuffer, limit: Int
    ) throws(Failure) -> Bool {
        while true {
            if output.writableBytes == 0 {
                let room = Self.capacity(limit) - output.readableBytes
                guard room > 0 else { throw .tooBig }
                output.reserveCapacity(minimumWritableBytes: min(max(output.capacity, 4096), room))
            }
            do {
                try stream.inflate(from: &input, to: &output)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                // The output is full; more room next time round (or the limit is reached).
                if output.readableBytes > limit { throw .tooBig }
                continue
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                // No progress possible: all input is taken and nothing more is pending.
                return false
            } catch {
                throw .corrupt("invalid deflate data (\(error))")
            }
            if output.readableBytes > limit { throw .tooBig }
            // zlib returns with output room left only once the input is used up or the stream ended.
            return input.readableBytes > 0
        }
    }
}
