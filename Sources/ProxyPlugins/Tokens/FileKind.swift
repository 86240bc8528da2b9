#if canImport(Glibc)
    import Glibc
#endif

/// What a path is, by `stat(2)` (symbolic links followed): what the directory plugins check before
/// they use a token's file or socket.
enum FileKind: String, Equatable, Sendable, CustomStringConvertible {
    case regular = "regular file", directory, socket, other

    var description: String { rawValue }

    /// The kind of `path`, or the `errno` of a `stat` that failed.
    static func of(_ path: String) -> Result<FileKind, FileKindError> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(FileKindError(code: errno)) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .success(.regular)
        case S_IFDIR: return .success(.directory)
        case S_IFSOCK: return .success(.socket)
        default: return .success(.other)
        }
    }
}

/// A `stat` that failed: its `errno`, and the system's words for it.
struct FileKindError: Error, Equatable {
    var code: Int32
    /// The path (or a directory on the way to it) does not exist.
    var isMissing: Bool { code == ENOENT || code == ENOTDIR }
    var description: String { String(cString: strerror(code)) }
}
