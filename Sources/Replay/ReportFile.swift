#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import RecordFormat

/// Writes wsreplay's JSON report. A report quotes what the client sent (excerpts of key events, cut
/// text), so it gets the recording's permission bits, never the umask's (issue: recordings are 0600
/// by default). It replaces an earlier report atomically: written beside it, then renamed over it.
public enum ReportFile {
    public static func write(_ text: String, to path: String, modeOf recording: String) throws(RecordFormatError) {
        let mode = try NewFile.mode(madeFrom: [recording])
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        do throws(RecordFormatError) {
            let file = try NewFile(path: temporary, mode: mode)
            try file.write(text)
            guard rename(temporary, path) == 0 else {
                throw RecordFormatError(.io, "cannot replace \(path): \(String(cString: strerror(errno)))", path: path)
            }
        } catch {
            unlink(temporary)
            throw error
        }
    }
}
