import RecordFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Files written whole or not at all: to a temporary file in the same directory, then renamed
/// over the final name (rename(2) is atomic within a file system).
public enum AtomicFile {
    /// The permission bits of what is drawn from `recording`: its own (the project's rule for files
    /// made from a recording, docs/proxy.md: they show what it holds), not the umask's.
    public static func mode(madeFrom recording: String) throws(RenderError) -> UInt32 {
        do {
            return try NewFile.mode(madeFrom: [recording])
        } catch {
            throw RenderError("\(error)")
        }
    }

    /// The permission bits of the keyframe cache of `recording`: it holds the session's screens, so
    /// never more than the owner's 0600, and never more than the recording's own.
    public static func cacheMode(of recording: String) throws(RenderError) -> UInt32 {
        try mode(madeFrom: recording) & 0o600
    }

    /// Writes `bytes` to `path` atomically, with the permission bits `mode` (the umask aside).
    public static func write(_ bytes: [UInt8], to path: String, mode: UInt32) throws(RenderError) {
        let temporary = temporaryName(for: path)
        // Created readable by the owner only, then set to `mode` before anything is in it.
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RenderError("cannot create: \(errnoText())", path: path) }
        guard fchmod(fd, mode_t(mode)) == 0 else {
            let text = errnoText()
            close(fd)
            unlink(temporary)
            throw RenderError("cannot set its mode: \(text)", path: path)
        }
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
        try commit(temporary, to: path, mode: mode)
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

    /// Gives the finished temporary file the permission bits `mode` and renames it over `path`
    /// (removing it if that fails).
    public static func commit(_ temporary: String, to path: String, mode: UInt32) throws(RenderError) {
        guard chmod(temporary, mode_t(mode)) == 0, rename(temporary, path) == 0 else {
            let text = errnoText()
            unlink(temporary)
            throw RenderError("cannot write: \(text)", path: path)
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
