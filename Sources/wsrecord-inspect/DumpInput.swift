#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import RecordFormat
import RecordTools

/// Where `dump` takes its entries from: the whole file once, or (`--follow`) the file as the writer
/// appends to it, until it is closed cleanly (either format).
enum DumpInput {
    case whole(RecordSource, Progress)
    case following(any FollowedRecording, untilInterrupted: Bool)

    /// How long following sleeps between two looks at the file's size.
    static let pollInterval: useconds_t = 100_000

    init(path: String, follow: Bool, untilInterrupted: Bool, progress: Bool) throws {
        // Following, an empty file is one its writer has just created (the Python websockify's
        // buffered legacy file stays empty until its first 8 KiB or its end): wait for its first bytes.
        while follow, try SystemFile.size(path: path) == 0 { usleep(Self.pollInterval) }
        let source = try RecordSource(path: path)
        guard follow else {
            self = .whole(source, Progress(label: "dump", total: source.fileSize, enabled: progress))
            return
        }
        let followed: any FollowedRecording =
            switch source.format {
            case .native: try RecordFollower(path: path)
            case .legacy: try LegacyRecordFollower(path: path)
            }
        self = .following(followed, untilInterrupted: untilInterrupted)
    }

    /// Hands every entry to `body` in file order. Following, `flush` is called after each look at
    /// the file, damage is shown on stderr as soon as a good block follows it, and the call returns
    /// once the file ends with a trailer and no writer holds it (never with `untilInterrupted`).
    func forEach(flush: () -> Void, _ body: (RecordEntry) throws -> Void) throws {
        switch self {
        case .whole(let source, let progress):
            while let entry = try source.nextEntry() {
                progress.update(source.bytesRead)
                try body(entry)
            }
            progress.finish()
        case .following(let follower, let untilInterrupted):
            while true {
                try follower.poll { event in
                    switch event {
                    case .entry(let entry): try body(entry)
                    case .damage(let damage): Output.standardError("wsrecord-inspect: \(follower.path): \(damage)")
                    }
                }
                flush()
                if follower.endsClosed, !untilInterrupted, !follower.lockedByWriter() { break }
                usleep(Self.pollInterval)
            }
            for damage in try follower.finish() { Output.standardError("wsrecord-inspect: \(follower.path): \(damage)") }
        }
    }

    /// Damage found (not yet shown on stderr: following shows it as it is found).
    var unshownDamages: [Damage] {
        if case .whole(let source, _) = self { return source.damages }
        return []
    }

    var damages: [Damage] {
        switch self {
        case .whole(let source, _): source.damages
        case .following(let follower, _): follower.damages
        }
    }

    var gaps: [RecordGap] {
        switch self {
        case .whole(let source, _): source.gaps
        case .following(let follower, _): follower.gaps
        }
    }
}
