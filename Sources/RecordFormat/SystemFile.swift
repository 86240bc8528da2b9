#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin POSIX file helpers that turn errno into ``RecordFormatError`` naming the file.
enum SystemFile {
    static func errnoText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    static func open(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(RecordFormatError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw RecordFormatError(.io, "cannot open: \(errnoText(errno))", path: path)
        }
        return fd
    }

    static func size(_ fd: Int32, path: String) throws(RecordFormatError) -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw RecordFormatError(.io, "cannot stat: \(errnoText(errno))", path: path)
        }
        return UInt64(info.st_size)
    }

    /// The size of the file at `path`.
    static func size(path: String) throws(RecordFormatError) -> UInt64 {
        let fd = try open(path, flags: O_RDONLY)
        defer { close(fd) }
        return try size(fd, path: path)
    }

    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, path: String)
        throws(RecordFormatError) -> Int
    {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw RecordFormatError(.io, "read failed: \(errnoText(errno))", path: path, offset: offset + UInt64(done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads into `array` (from its start) at `offset`; returns the bytes read.
    static func read(_ fd: Int32, into array: inout [UInt8], at offset: UInt64, path: String) throws(RecordFormatError)
        -> Int
    {
        let result: Result<Int, RecordFormatError> = array.withUnsafeMutableBytes { buffer in
            Result { () throws(RecordFormatError) -> Int in try read(fd, into: buffer, at: offset, path: path) }
        }
        return try result.get()
    }

    /// Writes all of `bytes` at `offset`.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) -> Int32? {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += n
        }
        return nil
    }
}
