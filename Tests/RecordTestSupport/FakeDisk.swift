#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import RecordFormat

/// A disk of `size` bytes for a ``RecordFileWriter``: space reserved or written past what it has
/// fails with ENOSPC (or `code`). The bytes themselves go to the real file.
public final class FakeDisk {
    public var size: UInt64
    public var code: Int32 = ENOSPC
    /// Bytes of the file that hold space (written or reserved).
    public private(set) var allocated: UInt64 = 0
    /// Set: every write fails with `code` (a disk that fails where nothing can be reserved).
    public var failWrites = false
    /// Set: truncating frees every block held past the new size, reserved ones too (as ext4 does).
    public var truncateFreesReservation = false
    public private(set) var writes = 0

    public init(size: UInt64) { self.size = size }

    /// Its system calls; `reserving: false` models a file system without `fallocate`.
    package func system(reserving: Bool = true) -> WriterSystem {
        WriterSystem(
            writev: { [self] fd, vectors, count, offset in
                let length = (0..<Int(count)).reduce(0) { $0 + vectors[$1].iov_len }
                let end = UInt64(offset) + UInt64(length)
                if failWrites || (end > allocated && end > size) {
                    errno = code
                    return -1
                }
                allocated = max(allocated, end)
                writes += 1
                return pwritev(fd, vectors, count, offset)
            },
            reserve: reserving
                ? { [self] _, offset, length in
                    let end = UInt64(offset) + UInt64(length)
                    guard end <= size else { return code }
                    allocated = max(allocated, end)
                    return 0
                } : nil,
            fileSizeLimit: .max,
            truncate: { [self] fd, length in
                if truncateFreesReservation { allocated = min(allocated, UInt64(length)) }
                return ftruncate(fd, length) == 0 ? 0 : errno
            })
    }
}
