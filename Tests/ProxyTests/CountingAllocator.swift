@_spi(CustomByteBufferAllocator) import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `ByteBufferAllocator` that counts what its buffers cost: bytes allocated (including each
/// growth) and bytes copied when a buffer that is not uniquely referenced is written to (NIO's
/// copy-on-write goes through the allocator's `copy`; ordinary writes do not).
///
/// The counters are process-wide (the allocator's functions are C functions and capture nothing),
/// so one test at a time may use it.
enum CountingAllocator {
    private static let allocatedBytes = Atomic<Int>(0)
    private static let copiedBytes = Atomic<Int>(0)

    static let allocator = ByteBufferAllocator(
        allocate: { size in
            CountingAllocator.allocatedBytes.add(Int(size), ordering: .relaxed)
            return malloc(size)
        },
        reallocate: { pointer, _, newSize in
            CountingAllocator.allocatedBytes.add(Int(newSize), ordering: .relaxed)
            return realloc(pointer, newSize)
        },
        deallocate: { free($0) },
        copy: { destination, source, count in
            CountingAllocator.copiedBytes.add(Int(count), ordering: .relaxed)
            destination.copyMemory(from: source, byteCount: Int(count))
        })

    /// Bytes allocated since the last ``reset()``.
    static var allocated: Int { allocatedBytes.load(ordering: .relaxed) }
    /// Bytes copied on write since the last ``reset()``.
    static var copied: Int { copiedBytes.load(ordering: .relaxed) }

    static func reset() {
        allocatedBytes.store(0, ordering: .relaxed)
        copiedBytes.store(0, ordering: .relaxed)
    }
}
