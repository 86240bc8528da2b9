import CDispatch  // declares the `stat` structs Glibc uses here (member import visibility)

#if canImport(Glibc)
    import Glibc
#endif

/// What identifies one version of a file or directory: inode, size, mtime and ctime (ns). An
/// edit, a replacement by rename, or (for a directory) a file added or removed changes it.
struct FileStamp: Equatable, Sendable {
    enum Kind: Sendable { case regular, directory, other }

    var path: String
    var inode: UInt64
    var size: Int64
    var mtime: (Int, Int)
    var ctime: (Int, Int)

    static func == (a: FileStamp, b: FileStamp) -> Bool {
        a.path == b.path && a.inode == b.inode && a.size == b.size && a.mtime == b.mtime && a.ctime == b.ctime
    }

    /// `stat(2)` of `path`.
    static func of(_ path: String) throws(TokenFileError) -> (stamp: FileStamp, kind: Kind) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw TokenFileError(path: path, reason: String(cString: strerror(errno)))
        }
        let stamp = FileStamp(
            path: path, inode: UInt64(info.st_ino), size: Int64(info.st_size),
            mtime: (info.st_mtim.tv_sec, info.st_mtim.tv_nsec), ctime: (info.st_ctim.tv_sec, info.st_ctim.tv_nsec))
        let type = info.st_mode & S_IFMT
        return (stamp, type == S_IFDIR ? .directory : type == S_IFREG ? .regular : .other)
    }
}

/// A token file or directory that could not be read.
struct TokenFileError: Error, CustomStringConvertible {
    var path: String
    var reason: String
    var description: String { "\(path): \(reason)" }
}
