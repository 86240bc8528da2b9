import CFileInfo

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What identifies one version of a file or directory: inode, size, mtime and ctime (ns). An
/// edit, a replacement by rename, or (for a directory) a file added or removed changes it.
///
/// Shared by the files a running server follows: token files (ProxyPlugins) and TLS certificates
/// (Proxy), so it lives below both.
public struct FileStamp: Equatable, Sendable {
    public enum Kind: Sendable { case regular, directory, other }

    /// `stat(2)` failed: the path and the system's reason.
    public struct Unavailable: Error, CustomStringConvertible, Sendable {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public var path: String
    public var inode: UInt64
    public var size: Int64
    public var mtime: (Int, Int)
    public var ctime: (Int, Int)

    public init(path: String, inode: UInt64, size: Int64, mtime: (Int, Int), ctime: (Int, Int)) {
        self.path = path
        self.inode = inode
        self.size = size
        self.mtime = mtime
        self.ctime = ctime
    }

    public static func == (a: FileStamp, b: FileStamp) -> Bool {
        a.path == b.path && a.inode == b.inode && a.size == b.size && a.mtime == b.mtime && a.ctime == b.ctime
    }

    /// `stat(2)` of `path` (following symbolic links, as certbot's `live/` links need).
    public static func of(_ path: String) throws(Unavailable) -> (stamp: FileStamp, kind: Kind) {
        var info = wsk_file_info()
        let failure = wsk_file_info_of(path, &info)
        guard failure == 0 else {
            throw Unavailable(path: path, reason: String(cString: strerror(failure)))
        }
        let stamp = FileStamp(
            path: path, inode: info.inode, size: info.size,
            mtime: (Int(info.mtime_sec), Int(info.mtime_nsec)), ctime: (Int(info.ctime_sec), Int(info.ctime_nsec)))
        return (stamp, info.kind == 2 ? .directory : info.kind == 1 ? .regular : .other)
    }
}
