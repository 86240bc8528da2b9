import RecordFormat

#if canImport(Glibc)
import Glibc
#endif

/// A progress bar on standard error for long reads of large files; silent when standard error
/// is not a terminal, for small files, or when disabled (e.g. JSON output).
final class Progress {
    private let label: String
    private let total: UInt64
    private let enabled: Bool
    private var shownPercent = -1
    private var drawn = false

    /// Files smaller than this finish too fast for a bar to help.
    static let minimumSize: UInt64 = 32 << 20

    init(label: String, total: UInt64, enabled: Bool) {
        self.label = label
        self.total = total
        self.enabled = enabled && total >= Self.minimumSize && isatty(2) == 1
    }

    func update(_ done: UInt64) {
        guard enabled else { return }
        let percent = Int(min(done, total) * 100 / max(total, 1))
        guard percent != shownPercent else { return }
        shownPercent = percent
        let width = 30
        let filled = width * percent / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line = "\r\(label) [\(bar)] \(percent)% of \(total >> 20) MiB"
        Array(line.utf8).withUnsafeBytes { _ = write(2, $0.baseAddress!, $0.count) }
        drawn = true
    }

    /// A callback for the library's long operations; the bar appears on the first call.
    static func callback(label: String, enabled: Bool) -> (ProgressCallback, () -> Void) {
        var bar: Progress?
        return (
            { done, total in
                if bar == nil { bar = Progress(label: label, total: total, enabled: enabled) }
                bar?.update(done)
            },
            { bar?.finish() }
        )
    }

    func finish() {
        guard drawn else { return }
        let clear = "\r" + String(repeating: " ", count: 60 + label.count) + "\r"
        Array(clear.utf8).withUnsafeBytes { _ = write(2, $0.baseAddress!, $0.count) }
    }
}
