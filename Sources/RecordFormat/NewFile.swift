#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file created for writing that must not exist yet (exports never overwrite), written in order.
public final class NewFile {
    public let path: String
    private let fd: Int32
    /// Bytes written so far.
    public private(set) var offset: UInt64 = 0

    public init(path: String) throws(RecordFormatError) {
        self.path = path
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let code = errno
            throw RecordFormatError(
                code == EEXIST ? .invalidArgument : .io,
                code == EEXIST
                    ? "output exists; remove it or choose another name"
                    : "cannot create: \(SystemFile.errnoText(code))",
                path: path)
        }
        self.fd = fd
    }

    deinit { Glibc.close(fd) }

    public func write(_ bytes: [UInt8]) throws(RecordFormatError) {
        let failure = bytes.withUnsafeBytes { SystemFile.write(fd, $0, at: offset) }
        if let failure {
            throw RecordFormatError(.io, "write failed: \(SystemFile.errnoText(failure))", path: path, offset: offset)
        }
        offset += UInt64(bytes.count)
    }

    public func write(_ text: String) throws(RecordFormatError) { try write(Array(text.utf8)) }

    /// Removes the file (after a failed export).
    public func remove() { unlink(path) }
}
