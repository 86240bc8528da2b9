/// Records that a recording lost, as a gap block says (docs/record-format.md §5.4): how many
/// records and payload bytes of which sessions, between which times, and why.
///
/// The writer puts a gap block where the lost records would have been, as soon as there is room
/// for it (a full disk) or right after the records that came before the loss (a full queue).
public struct RecordGap: Sendable, Equatable {
    /// Why records were lost; a gap may have more than one cause.
    public struct Causes: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// A block could not be written: disk full, quota, file size limit, I/O error.
        public static let writeFailed = Causes(rawValue: 1)
        /// The recorder's queue was full: the writer fell behind the traffic.
        public static let queueFull = Causes(rawValue: 2)
        /// Records arrived after the recording began to close.
        public static let afterClose = Causes(rawValue: 4)

        /// Short names, e.g. `["write-failed"]`, as JSON output shows them (unknown bits as `cause-N`).
        public var names: [String] {
            var out: [String] = []
            for bit in 0..<8 where rawValue & (1 << bit) != 0 {
                switch 1 << bit {
                case 1: out.append("write-failed")
                case 2: out.append("queue-full")
                case 4: out.append("after-close")
                default: out.append("cause-\(1 << bit)")
                }
            }
            return out
        }

        /// For people, e.g. "a block could not be written".
        public var text: String {
            var out: [String] = []
            if contains(.writeFailed) { out.append("a block could not be written") }
            if contains(.queueFull) { out.append("the writer fell behind") }
            if contains(.afterClose) { out.append("records came after the recording began to close") }
            let unknown =
                rawValue & ~(Causes.writeFailed.rawValue | Causes.queueFull.rawValue | Causes.afterClose.rawValue)
            if unknown != 0 || out.isEmpty { out.append("unknown cause \(unknown)") }
            return out.joined(separator: ", ")
        }
    }

    /// What one session lost.
    public struct SessionLoss: Sendable, Equatable {
        /// 0 for file-level markers.
        public var session: UInt32
        /// Records of every kind.
        public var records: UInt64
        /// Frames and payload bytes per direction.
        public var clientToTarget: DirectionTotals
        public var targetToClient: DirectionTotals
        /// Time fields of the earliest and latest lost record (µs since the session's start;
        /// wall-clock µs for session 0).
        public var firstTimeMicros: UInt64
        public var lastTimeMicros: UInt64
        /// Wall-clock µs of the earliest and latest lost record (§3.4; 0 when the start is unknown).
        public var firstWallMicros: Int64
        public var lastWallMicros: Int64

        public init(
            session: UInt32, records: UInt64, clientToTarget: DirectionTotals = .init(),
            targetToClient: DirectionTotals = .init(), firstTimeMicros: UInt64, lastTimeMicros: UInt64,
            firstWallMicros: Int64, lastWallMicros: Int64
        ) {
            self.session = session
            self.records = records
            self.clientToTarget = clientToTarget
            self.targetToClient = targetToClient
            self.firstTimeMicros = firstTimeMicros
            self.lastTimeMicros = lastTimeMicros
            self.firstWallMicros = firstWallMicros
            self.lastWallMicros = lastWallMicros
        }

        /// Frame payload bytes lost in both directions.
        public var payloadBytes: UInt64 { clientToTarget.bytes &+ targetToClient.bytes }

        public func totals(_ direction: Direction) -> DirectionTotals {
            direction == .clientToTarget ? clientToTarget : targetToClient
        }
    }

    public var causes: Causes
    /// What the system said, e.g. "No space left on device"; may be empty.
    public var detail: String
    /// Records lost in all; at least the sum over ``sessions``.
    public var records: UInt64
    /// Frame payload bytes lost in all; at least the sum over ``sessions``.
    public var payloadBytes: UInt64
    /// Wall-clock range of the lost records (the block header's time range).
    public var firstWallMicros: Int64
    public var lastWallMicros: Int64
    /// Per session, ascending.
    public var sessions: [SessionLoss]

    public init(
        causes: Causes, detail: String, records: UInt64, payloadBytes: UInt64, firstWallMicros: Int64,
        lastWallMicros: Int64, sessions: [SessionLoss]
    ) {
        self.causes = causes
        self.detail = detail
        self.records = records
        self.payloadBytes = payloadBytes
        self.firstWallMicros = firstWallMicros
        self.lastWallMicros = lastWallMicros
        self.sessions = sessions
    }

    /// Bytes of one session entry in the payload.
    static let entryLength = 76
    /// Longest detail text the writer stores.
    static let detailLimit = 200

    /// The block payload (§5.4); the time range goes into the block header.
    func encodedPayload() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(24 + detail.utf8.count + Self.entryLength * sessions.count)
        out.append(causes.rawValue)
        out.append(0)
        out.appendShortString(detail, limit: Self.detailLimit)
        out.appendLE(records)
        out.appendLE(payloadBytes)
        out.appendLE(UInt32(sessions.count))
        for loss in sessions {
            out.appendLE(loss.session)
            out.appendLE(loss.records)
            out.appendLE(loss.clientToTarget.frames)
            out.appendLE(loss.clientToTarget.bytes)
            out.appendLE(loss.targetToClient.frames)
            out.appendLE(loss.targetToClient.bytes)
            out.appendLE(loss.firstTimeMicros)
            out.appendLE(loss.lastTimeMicros)
            out.appendLE(loss.firstWallMicros)
            out.appendLE(loss.lastWallMicros)
        }
        return out
    }

    /// Upper bound of the whole gap block's size (header and payload).
    var encodedBlockLength: Int {
        BlockHeader.fixedLength + 4 * sessions.count + 24 + min(detail.utf8.count, Self.detailLimit)
            + Self.entryLength * sessions.count
    }

    /// Decodes a gap block's payload; nil when it is malformed (the block is then corrupt).
    static func decode(_ bytes: UnsafeRawBufferPointer, header: BlockHeader) -> RecordGap? {
        var cursor = ByteCursor(bytes)
        guard let causes = cursor.read(UInt8.self), cursor.read(UInt8.self) != nil,
            let detail = cursor.readShortString(), let records = cursor.read(UInt64.self),
            let payloadBytes = cursor.read(UInt64.self), let count = cursor.read(UInt32.self),
            Int(count) == cursor.remaining / entryLength, cursor.remaining % entryLength == 0
        else { return nil }
        var sessions: [SessionLoss] = []
        sessions.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let session = cursor.read(UInt32.self), let lost = cursor.read(UInt64.self),
                let framesOut = cursor.read(UInt64.self), let bytesOut = cursor.read(UInt64.self),
                let framesIn = cursor.read(UInt64.self), let bytesIn = cursor.read(UInt64.self),
                let firstTime = cursor.read(UInt64.self), let lastTime = cursor.read(UInt64.self),
                let firstWall = cursor.read(Int64.self), let lastWall = cursor.read(Int64.self)
            else { return nil }
            sessions.append(
                SessionLoss(
                    session: session, records: lost, clientToTarget: .init(frames: framesOut, bytes: bytesOut),
                    targetToClient: .init(frames: framesIn, bytes: bytesIn), firstTimeMicros: firstTime,
                    lastTimeMicros: lastTime, firstWallMicros: firstWall, lastWallMicros: lastWall))
        }
        return RecordGap(
            causes: Causes(rawValue: causes), detail: detail, records: records, payloadBytes: payloadBytes,
            firstWallMicros: header.firstWallMicros, lastWallMicros: header.lastWallMicros, sessions: sessions)
    }
}
