#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Files written whole or not at all: to a temporary file in the same directory, then renamed
/// over the final name (rename(2) is atomic within a file system).
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws(RenderError) {
        let temporary = temporaryName(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RenderError("cannot create: \(errnoText())", path: temporary) }
        var done = 0
        var failure: String?
        bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errnoText()
                    return
                }
                done += n
            }
        }
        if failure == nil, close(fd) != 0 { failure = errnoText() } else if failure != nil { close(fd) }
        if let failure {
            unlink(temporary)
            throw RenderError("cannot write: \(failure)", path: path)
        }
        try commit(temporary, to: path)
    }

    /// A name beside `path` for its temporary copy: hidden, with this process's id, and ending in
    /// `path`'s extension (programs like ffmpeg pick the container from it).
    public static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let dot = name.lastIndex(of: ".").map { String(name[$0...]) } ?? ""
        return "\(directory).\(name).partial-\(getpid())\(dot)"
    }

    /// Renames the finished temporary file over `path` (removing it if that fails).
    public static func commit(_ temporary: String, to path: String) throws(RenderError) {
        guard rename(temporary, path) == 0 else {
            let text = errnoText()
            unlink(temporary)
            throw RenderError("cannot write: \(text)", path: path)
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
