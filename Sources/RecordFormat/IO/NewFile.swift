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

    /// Creates `path` with exactly the permission bits `mode` (whatever the umask).
    public init(path: String, mode: UInt32) throws(RecordFormatError) {
        self.path = path
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else {
            let code = errno
            throw RecordFormatError(
                code == EEXIST ? .invalidArgument : .io,
                code == EEXIST
                    ? "output exists; remove it or choose another name"
                    : "cannot create: \(SystemFile.errnoText(code))",
                path: path)
        }
        guard fchmod(fd, mode_t(mode)) == 0 else {
            let code = errno
            Glibc.close(fd)
            unlink(path)
            throw RecordFormatError(.io, "cannot set the file's mode: \(SystemFile.errnoText(code))", path: path)
        }
        self.fd = fd
    }

    /// The permission bits for a file made from `inputs` (a recording and what is exported, cut or
    /// joined from it): the bits all of them have, so that nobody can read the output who could not
    /// read every input. For one input, its own mode; never the umask's.
    public static func mode(madeFrom inputs: [String]) throws(RecordFormatError) -> UInt32 {
        var mode: UInt32 = 0o777
        for input in inputs { mode &= try SystemFile.permissions(path: input) }
        return mode
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
