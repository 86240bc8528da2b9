/// Wide XOR of WebSocket payloads with a 4-byte masking key (RFC 6455 §5.3).
///
/// NIO's `webSocketUnmask` works a byte at a time; a proxy unmasks every byte a client sends, so
/// this processes 64 bytes per step in 16-byte vectors and only falls back to bytes for the tail.
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
        // The key rotated so that its first byte applies to source byte 0.
        let rotated: (UInt8, UInt8, UInt8, UInt8)
        switch offset & 3 {
        case 0: rotated = key
        case 1: rotated = (key.1, key.2, key.3, key.0)
        case 2: rotated = (key.2, key.3, key.0, key.1)
        default: rotated = (key.3, key.0, key.1, key.2)
        }
        let (r0, r1, r2, r3) = rotated
        let k16 = SIMD16<UInt8>(r0, r1, r2, r3, r0, r1, r2, r3, r0, r1, r2, r3, r0, r1, r2, r3)

        var index = 0
        while count &- index >= 64 {
            // Four independent 16-byte lanes per step; every load comes before its store, so
            // source and destination may be the same memory.
            let a = src.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self)
            let b = src.loadUnaligned(fromByteOffset: index &+ 16, as: SIMD16<UInt8>.self)
            let c = src.loadUnaligned(fromByteOffset: index &+ 32, as: SIMD16<UInt8>.self)
            let d = src.loadUnaligned(fromByteOffset: index &+ 48, as: SIMD16<UInt8>.self)
            dst.storeBytes(of: a ^ k16, toByteOffset: index, as: SIMD16<UInt8>.self)
            dst.storeBytes(of: b ^ k16, toByteOffset: index &+ 16, as: SIMD16<UInt8>.self)
            dst.storeBytes(of: c ^ k16, toByteOffset: index &+ 32, as: SIMD16<UInt8>.self)
            dst.storeBytes(of: d ^ k16, toByteOffset: index &+ 48, as: SIMD16<UInt8>.self)
            index &+= 64
        }
        while count &- index >= 16 {
            let a = src.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self)
            dst.storeBytes(of: a ^ k16, toByteOffset: index, as: SIMD16<UInt8>.self)
            index &+= 16
        }
        // Every step so far was a multiple of 4 bytes, so the key is still aligned with `index`.
        while index < count {
            let k: UInt8
            switch index & 3 {
            case 0: k = r0
            case 1: k = r1
            case 2: k = r2
            default: k = r3
            }
            dst.storeBytes(of: src.load(fromByteOffset: index, as: UInt8.self) ^ k, toByteOffset: index, as: UInt8.self)
            index &+= 1
        }
    }
}
