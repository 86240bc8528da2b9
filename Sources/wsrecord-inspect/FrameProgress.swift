#if canImport(Glibc)
import Glibc
#endif

/// A bar of frames done on standard error (only made when it is a terminal).
final class FrameProgress {
    private let label: String
    private var shownPercent = -1

    init(label: String) { self.label = label }

    func update(_ done: Int, of total: Int) {
        let percent = done * 100 / max(total, 1)
        guard percent != shownPercent else { return }
        shownPercent = percent
        let filled = 30 * percent / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 30 - filled)
        let line = "\r\(label) [\(bar)] \(percent)% (\(done) of \(total) frames)"
        Array(line.utf8).withUnsafeBytes { _ = write(2, $0.baseAddress!, $0.count) }
    }

    func finish() {
        guard shownPercent >= 0 else { return }
        let clear = "\r" + String(repeating: " ", count: 60 + label.count) + "\r"
        Array(clear.utf8).withUnsafeBytes { _ = write(2, $0.baseAddress!, $0.count) }
    }
}
