import NIOCore
import WebSocketWire

extension ByteBuffer {
    /// Unmasks the readable bytes in place.
    public mutating func unmaskWordWise(key: (UInt8, UInt8, UInt8, UInt8), offset: Int = 0) {
        self.withUnsafeMutableReadableBytes { bytes in
            WebSocketUnmask.apply(key: key, offset: offset, source: UnsafeRawBufferPointer(bytes), destination: bytes)
        }
    }

    /// Reads `count` bytes and appends them, unmasked, to `destination`, in one pass.
    ///
    /// - Parameter offset: the index of the first byte within its frame's payload, so a payload
    ///   that arrives in several reads is unmasked piece by piece.
    mutating func readUnmaskedBytes(
        _ count: Int, key: (UInt8, UInt8, UInt8, UInt8), offset: Int, into destination: inout ByteBuffer
    ) {
        precondition(count <= self.readableBytes, "unmasking more bytes than are readable")
        guard count > 0 else { return }
        self.withUnsafeReadableBytes { src in
            let source = UnsafeRawBufferPointer(rebasing: src.prefix(count))
            _ = destination.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { dst in
                WebSocketUnmask.apply(key: key, offset: offset, source: source, destination: dst)
                return count
            }
        }
        self.moveReaderIndex(forwardBy: count)
    }
}
