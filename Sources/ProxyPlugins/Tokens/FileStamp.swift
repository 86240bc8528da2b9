import CFileInfo
import Proxy

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
        var info = wsk_file_info()
        let failure = wsk_file_info_of(path, &info)
        guard failure == 0 else {
            throw TokenFileError(path: path, reason: String(cString: strerror(failure)))
        }
        let stamp = FileStamp(
            path: path, inode: info.inode, size: info.size,
            mtime: (Int(info.mtime_sec), Int(info.mtime_nsec)), ctime: (Int(info.ctime_sec), Int(info.ctime_nsec)))
        return (stamp, info.kind == 2 ? .directory : info.kind == 1 ? .regular : .other)
    }
}

/// A token file or directory that could not be read.
struct TokenFileError: Error, CustomStringConvertible {
    var path: String
    var reason: String
    var description: String { "\(path): \(reason)" }
}
