#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system calls a ``RecordFileWriter`` writes blocks and reserves space with; tests put in
/// ones that fail for a while (a full disk) without needing one (package access for the test
/// targets' shared support).
package struct WriterSystem {
    /// `pwritev(fd, vectors, count, offset)`: the bytes written, or -1 with errno set.
    package var writev: (Int32, UnsafePointer<iovec>, Int32, off_t) -> Int
    /// `fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, length)`: 0, or the errno; nil where there is none.
    package var reserve: ((Int32, off_t, off_t) -> Int32)?
    /// The largest file this process may write (`RLIMIT_FSIZE`); writes past it fail with EFBIG.
    package var fileSizeLimit: UInt64
    /// `ftruncate(fd, length)`: 0, or the errno. On ext4 it also frees every block reserved past
    /// `length`, even when the size does not change.
    package var truncate: (Int32, off_t) -> Int32

    package init(
        writev: @escaping (Int32, UnsafePointer<iovec>, Int32, off_t) -> Int,
        reserve: ((Int32, off_t, off_t) -> Int32)?, fileSizeLimit: UInt64,
        truncate: @escaping (Int32, off_t) -> Int32 = { fd, length in ftruncate(fd, length) == 0 ? 0 : errno }
    ) {
        self.writev = writev
        self.reserve = reserve
        self.fileSizeLimit = fileSizeLimit
        self.truncate = truncate
    }

    /// The real system calls.
    static var live: WriterSystem {
        WriterSystem(
            writev: { fd, vectors, count, offset in pwritev(fd, vectors, count, offset) },
            reserve: fallocate.map { call in
                { fd, offset, length in call(fd, keepSize, offset, length) == 0 ? 0 : errno }
            },
            fileSizeLimit: currentFileSizeLimit())
    }

    /// Linux's `fallocate(2)`, which Swift's Glibc module does not export (it is a GNU
    /// extension); looked up once. nil where there is none.
    private static let fallocate = SystemFile.cFunction(
        "fallocate", as: (@convention(c) (Int32, Int32, off_t, off_t) -> Int32).self)
    /// `FALLOC_FL_KEEP_SIZE` (linux/falloc.h): reserve without changing the file's size.
    private static let keepSize: Int32 = 1

    private static func currentFileSizeLimit() -> UInt64 {
        var limit = rlimit()
        // RLIM_INFINITY is all ones, so it reads as the largest value.
        guard getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0 else { return .max }
        return UInt64(limit.rlim_cur)
    }
}
