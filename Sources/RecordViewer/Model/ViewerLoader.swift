#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOConcurrencyHelpers
import NIOPosix
import RecordFormat
import RecordTools

/// Reads a recording into a ``ViewerRecording``: the whole file once, or (`--follow`) the file as
/// its writer appends to it, with ``RecordFollower`` or ``LegacyRecordFollower`` (either format,
/// detected from the content). Damage is noted where it is found, after what was readable.
public final class ViewerLoader: Sendable {
    public let recording: ViewerRecording
    public let follow: Bool
    /// How long following waits between two looks at the file.
    public let pollIntervalMicros: UInt32
    private let stopped = NIOLockedValueBox(false)

    public init(recording: ViewerRecording, follow: Bool, pollIntervalMicros: UInt32 = 200_000) {
        self.recording = recording
        self.follow = follow
        self.pollIntervalMicros = pollIntervalMicros
    }

    /// Runs ``run()`` on a thread of its own and returns at once.
    public func start() {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        // The thread idles once the file is read; `serve` keeps it until the process ends.
        thread.submit { _ in self.run() }
    }

    /// Asks a following ``run()`` to end after its current look.
    public func stop() { stopped.withLockedValue { $0 = true } }

    private var isStopped: Bool { stopped.withLockedValue { $0 } }

    /// Reads until the end of the file (or, following, until ``stop()``); what cannot be read is
    /// noted in the recording (``ViewerRecording/finishReading(failure:)``), never thrown.
    public func run() {
        do {
            if follow { try runFollowing() } else { try runWhole() }
            recording.finishReading()
        } catch {
            recording.finishReading(failure: "\(error)")
        }
    }

    private func runWhole() throws {
        let source = try RecordSource(path: recording.path)
        recording.began(format: source.format, following: false)
        recording.noteSize(source.fileSize)
        var damagesSeen = 0
        func noteNewDamage() {
            let damages = source.damages
            while damagesSeen < damages.count {
                recording.noteDamage(damages[damagesSeen])
                damagesSeen += 1
            }
        }
        while let entry = try source.nextEntry() {
            noteNewDamage()
            recording.apply(entry)
        }
        noteNewDamage()
    }

    private func runFollowing() throws {
        let path = recording.path
        // An empty file is one its writer has just created: wait for its first bytes.
        while try SystemFile.size(path: path) == 0 {
            if isStopped { return }
            usleep(pollIntervalMicros)
        }
        let source = try RecordSource(path: path)
        recording.began(format: source.format, following: true)
        let follower: any FollowedRecording =
            switch source.format {
            case .native: try RecordFollower(path: path)
            case .legacy: try LegacyRecordFollower(path: path)
            }
        while !isStopped {
            try follower.poll { event in
                switch event {
                case .entry(let entry): recording.apply(entry)
                case .damage(let damage): recording.noteDamage(damage)
                }
            }
            recording.noteSize(try SystemFile.size(path: path))
            usleep(pollIntervalMicros)
        }
        for damage in try follower.finish() { recording.noteDamage(damage) }
    }
}
