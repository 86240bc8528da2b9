import NIOCore

/// Word-wide XOR of WebSocket payloads with a 4-byte masking key (RFC 6455 §5.3).
///
/// NIO's `webSocketUnmask` works a byte at a time; a proxy unmasks every byte a client sends, so
/// this processes eight bytes per step and only falls back to bytes for the head and tail.
public enum WebSocketUnmask {
    /// XORs `source` with `key` into `destination` (which may be the same memory).
    ///
    /// - Parameters:
    ///   - key: the four masking-key bytes, in wire order.
    ///   - offset: the index of `source`'s first byte within the whole payload, so a payload can be
    ///     unmasked in pieces.
    public static func apply(
        key: (UInt8, UInt8, UInt8, UInt8),
        offset: Int,
        source: UnsafeRawBufferPointer,
        destination: UnsafeMutableRawBufferPointer
    ) {
        precondition(destination.count >= source.count, "destination too small for unmasking")
        let count = source.count
        guard count > 0, let src = source.baseAddress, let dst = destination.baseAddress else { return }
        let keyBytes = [key.0, key.1, key.2, key.3]
        let start = offset & 3
        // The key rotated so that byte 0 of the rotated key applies to source byte 0.
        let r0 = keyBytes[start & 3]
        let r1 = keyBytes[(start + 1) & 3]
        let r2 = keyBytes[(start + 2) & 3]
        let r3 = keyBytes[(start + 3) & 3]
        // Little-endian load puts byte i at bits 8*i, so build the word the same way.
        let k32 = UInt32(r0) | UInt32(r1) << 8 | UInt32(r2) << 16 | UInt32(r3) << 24
        var k64 = UInt64(k32) | UInt64(k32) << 32
        k64 = UInt64(littleEndian: k64)

        var index = 0
        while index + 8 <= count {
            let word = src.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            dst.storeBytes(of: word ^ k64, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        let rotated = (r0, r1, r2, r3)
        while index < count {
            let k: UInt8
            switch index & 3 {
            case 0: k = rotated.0
            case 1: k = rotated.1
            case 2: k = rotated.2
            default: k = rotated.3
            }
            dst.storeBytes(of: src.load(fromByteOffset: index, as: UInt8.self) ^ k, toByteOffset: index, as: UInt8.self)
            index += 1
        }
    }
}

extension ByteBuffer {
    /// Unmasks the readable bytes in place, eight bytes at a time.
    public mutating func unmaskWordWise(key: (UInt8, UInt8, UInt8, UInt8), offset: Int = 0) {
        self.withUnsafeMutableReadableBytes { bytes in
            WebSocketUnmask.apply(key: key, offset: offset, source: UnsafeRawBufferPointer(bytes), destination: bytes)
        }
    }

    /// Reads `length` bytes and returns them unmasked in a new buffer, in one pass.
    ///
    /// Unlike slicing and unmasking in place, this never copies the bytes twice when the storage is
    /// shared with the accumulation buffer.
    mutating func readUnmaskedBuffer(
        length: Int, key: (UInt8, UInt8, UInt8, UInt8), allocator: ByteBufferAllocator
    ) -> ByteBuffer? {
        guard self.readableBytes >= length else { return nil }
        var out = allocator.buffer(capacity: length)
        self.withUnsafeReadableBytes { src in
            let source = UnsafeRawBufferPointer(rebasing: src.prefix(length))
            _ = out.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { dst in
                WebSocketUnmask.apply(key: key, offset: 0, source: source, destination: dst)
                return length
            }
        }
        self.moveReaderIndex(forwardBy: length)
        return out
    }
}
