#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import RecordFormat

/// Reads a legacy (Python websockify) recording while it is written (`dump --follow`): one file per
/// connection, one line per frame, ended by `'EOF'];` when the connection ends normally.
///
/// Each ``poll(_:)`` parses only the bytes after the last whole line; a line not yet ended is read
/// again at the next poll. The records are those `RecordSource` makes of the whole file: an open
/// record first, a frame per line, the close record when the `'EOF'` line arrives.
public final class LegacyRecordFollower: FollowedRecording {
    public let path: String
    public private(set) var damages: [Damage] = []
    public var gaps: [RecordGap] { [] }
    /// True once the `'EOF'];` line (or the closing `]`) was read: the connection ended normally.
    public private(set) var endsClosed = false

    private static let session: UInt32 = 1
    private let fd: Int32
    /// Offset of the first line not read yet.
    private var resumeOffset: UInt64
    private var seenSize: UInt64 = 0
    private var opened = false
    /// The close record the `'EOF'` line brings: totals of every line so far.
    private var closing = SessionClose(closedBy: .unknown)
    private var lastTime: UInt64 = 0
    private let prefix = Array("var VNC_frame_data = [\n".utf8)

    public init(path: String) throws(RecordFormatError) {
        self.path = path
        self.fd = try SystemFile.open(path, flags: O_RDONLY)
        var head = [UInt8](repeating: 0, count: prefix.count)
        let n = try SystemFile.read(fd, into: &head, at: 0, path: path)
        guard LegacyRecording.looksLegacy(head.prefix(n)) else {
            close(fd)
            throw RecordFormatError(.legacySyntax, "not a legacy websockify recording", path: path, offset: 0)
        }
        self.resumeOffset = UInt64(prefix.count - 1)  // just after `[`
    }

    deinit { close(fd) }

    /// A legacy file has no lock: its writer (Python websockify) takes none.
    public func lockedByWriter() -> Bool { false }

    @discardableResult
    public func poll(_ handle: (RecordFollowEvent) throws -> Void) throws -> Bool {
        let size = try SystemFile.size(path: path)
        guard size != seenSize, !endsClosed else { return false }
        seenSize = size
        if !opened {
            opened = true
            // The records of a file of no lines yet: the open record.
            for record in LegacyRecording.records(from: try LegacyRecording.parse(prefix), session: Self.session) {
                try handle(.entry(.record(record)))
            }
        }
        guard size > resumeOffset else { return true }
        var bytes = [UInt8](repeating: 0, count: Int(size - resumeOffset))
        let n = try SystemFile.read(fd, into: &bytes, at: resumeOffset, path: path)
        // Whole lines only: the writer ends each with a newline (payload newlines are escaped).
        guard let lastNewline = bytes.prefix(n).lastIndex(of: 0x0A) else { return true }
        // The new lines, parsed as a file of their own (the parser wants the opening line).
        let parsed = try LegacyRecording.parse(Array(prefix.dropLast()) + bytes[...lastNewline], path: path)
        let base = resumeOffset
        // A line cut off is read again next time, from its start (finish() reports it).
        resumeOffset = parsed.damage.map { base + $0.offset - UInt64(prefix.count - 1) } ?? base + UInt64(lastNewline + 1)
        var lines = parsed
        lines.terminated = true  // so that its close record carries the totals and last time of these lines
        var records = LegacyRecording.records(from: lines, session: Self.session)
        guard let batchEnd = records.popLast(), case .close(let batch) = batchEnd.body else { return true }
        for record in records.dropFirst() { try handle(.entry(.record(record))) }
        closing.clientToTarget = closing.clientToTarget + batch.clientToTarget
        closing.targetToClient = closing.targetToClient + batch.targetToClient
        lastTime = max(lastTime, batchEnd.timeMicros)
        if parsed.terminated {
            endsClosed = true
            try handle(.entry(.record(Record(session: Self.session, timeMicros: lastTime, body: .close(closing)))))
        }
        return true
    }

    public func finish() throws -> [Damage] {
        guard !endsClosed else { return [] }
        let size = try SystemFile.size(path: path)
        guard size > resumeOffset else { return [] }
        let damage = Damage(
            kind: .truncated, offset: resumeOffset, length: size - resumeOffset, recordsLost: 1,
            message: "the last frame line is cut off (the recording proxy was killed)")
        damages.append(damage)
        return [damage]
    }
}

extension DirectionTotals {
    fileprivate static func + (a: DirectionTotals, b: DirectionTotals) -> DirectionTotals {
        DirectionTotals(frames: a.frames + b.frames, bytes: a.bytes + b.bytes)
    }
}
