/// Counts lost records per session until they are written as a gap block (see ``RecordGap``).
///
/// Its memory grows with the number of sessions that lost records, not with the records.
struct RecordLossTally: Sendable {
    private(set) var sessions: [UInt32: RecordGap.SessionLoss] = [:]
    private(set) var causes: RecordGap.Causes = []
    /// The latest thing the system said (e.g. "No space left on device").
    private(set) var detail = ""
    private(set) var records: UInt64 = 0
    private(set) var payloadBytes: UInt64 = 0
    /// Records and bytes counted in the totals only, of sessions that got no entry of their own
    /// (their entries would not have fitted in the space reserved for the gap), and their times.
    private var unlisted = (records: UInt64(0), bytes: UInt64(0), firstWall: Int64.max, lastWall: Int64.min)

    var isEmpty: Bool { records == 0 }

    /// True when `session` has an entry already.
    func lists(_ session: UInt32) -> Bool { sessions[session] != nil }

    /// Counts one lost record. `frame`: its direction and payload length, for frame records.
    /// `listed` false: a session without an entry yet is counted in the totals only.
    mutating func add(
        session: UInt32, timeMicros: UInt64, wallMicros: Int64, frame: (Direction, Int)?, cause: RecordGap.Causes,
        listed: Bool = true
    ) {
        guard listed || sessions[session] != nil else {
            let bytes = UInt64(frame?.1 ?? 0)
            unlisted.records &+= 1
            unlisted.bytes &+= bytes
            unlisted.firstWall = min(unlisted.firstWall, wallMicros)
            unlisted.lastWall = max(unlisted.lastWall, wallMicros)
            records &+= 1
            payloadBytes &+= bytes
            causes.insert(cause)
            return
        }
        var loss =
            sessions[session]
            ?? RecordGap.SessionLoss(
                session: session, records: 0, firstTimeMicros: timeMicros, lastTimeMicros: timeMicros,
                firstWallMicros: wallMicros, lastWallMicros: wallMicros)
        loss.records &+= 1
        loss.firstTimeMicros = min(loss.firstTimeMicros, timeMicros)
        loss.lastTimeMicros = max(loss.lastTimeMicros, timeMicros)
        loss.firstWallMicros = min(loss.firstWallMicros, wallMicros)
        loss.lastWallMicros = max(loss.lastWallMicros, wallMicros)
        if let (direction, length) = frame {
            let bytes = UInt64(length)
            if direction == .clientToTarget {
                loss.clientToTarget.frames &+= 1
                loss.clientToTarget.bytes &+= bytes
            } else {
                loss.targetToClient.frames &+= 1
                loss.targetToClient.bytes &+= bytes
            }
            payloadBytes &+= bytes
        }
        sessions[session] = loss
        records &+= 1
        causes.insert(cause)
    }

    /// Notes what the system said about the loss.
    mutating func note(_ detail: String) {
        self.detail = detail
    }

    /// Adds everything `other` counted; with `wall`, its wall-clock times are taken from
    /// `wall(session, time)` (``other`` may come from a thread that does not know the sessions'
    /// start times). With `listed`, a session without an entry yet gets one only when
    /// `listed(self as it is so far, session)` says so, else it is counted in the totals only
    /// (sessions are looked at in ascending order).
    mutating func merge(
        _ other: RecordLossTally, wall: ((UInt32, UInt64) -> Int64)? = nil,
        listed: ((RecordLossTally, UInt32) -> Bool)? = nil
    ) {
        for loss in other.sessions.values.sorted(by: { $0.session < $1.session }) {
            let session = loss.session
            var merged = loss
            if let wall {
                merged.firstWallMicros = wall(session, loss.firstTimeMicros)
                merged.lastWallMicros = wall(session, loss.lastTimeMicros)
            }
            if let listed, sessions[session] == nil, !listed(self, session) {
                unlisted.records &+= merged.records
                unlisted.bytes &+= merged.payloadBytes
                unlisted.firstWall = min(unlisted.firstWall, merged.firstWallMicros)
                unlisted.lastWall = max(unlisted.lastWall, merged.lastWallMicros)
                continue
            }
            if let known = sessions[session] {
                merged.records &+= known.records
                merged.clientToTarget.frames &+= known.clientToTarget.frames
                merged.clientToTarget.bytes &+= known.clientToTarget.bytes
                merged.targetToClient.frames &+= known.targetToClient.frames
                merged.targetToClient.bytes &+= known.targetToClient.bytes
                merged.firstTimeMicros = min(merged.firstTimeMicros, known.firstTimeMicros)
                merged.lastTimeMicros = max(merged.lastTimeMicros, known.lastTimeMicros)
                merged.firstWallMicros = min(merged.firstWallMicros, known.firstWallMicros)
                merged.lastWallMicros = max(merged.lastWallMicros, known.lastWallMicros)
            }
            sessions[session] = merged
        }
        records &+= other.records
        payloadBytes &+= other.payloadBytes
        causes.formUnion(other.causes)
        if !other.detail.isEmpty { detail = other.detail }
    }

    /// Forgets the sessions of `gap` once it is written.
    mutating func remove(_ gap: RecordGap) {
        for loss in gap.sessions { sessions[loss.session] = nil }
        records &-= min(records, gap.records)
        payloadBytes &-= min(payloadBytes, gap.payloadBytes)
        unlisted = (0, 0, .max, .min)  // the first gap written counted them
        if sessions.isEmpty && records == 0 { self = RecordLossTally() }
    }

    /// The gaps to write: one per at most ``BlockHeader/maximumSessions`` sessions (a block
    /// header lists no more), sessions ascending.
    func gaps() -> [RecordGap] {
        let ordered = sessions.values.sorted { $0.session < $1.session }
        var out: [RecordGap] = []
        var start = 0
        repeat {
            // Session 0 is not listed in a block header, so it does not count against the limit.
            var end = start
            var listed = 0
            while end < ordered.count, listed < BlockHeader.maximumSessions || ordered[end].session == 0 {
                if ordered[end].session != 0 { listed += 1 }
                end += 1
            }
            let part = Array(ordered[start..<end])
            // The first gap also counts what no entry names.
            let extra = out.isEmpty ? unlisted : (records: 0, bytes: 0, firstWall: .max, lastWall: .min)
            let firstWall = min(part.map(\.firstWallMicros).min() ?? .max, extra.firstWall)
            let lastWall = max(part.map(\.lastWallMicros).max() ?? .min, extra.lastWall)
            out.append(
                RecordGap(
                    causes: causes, detail: detail, records: part.reduce(extra.records) { $0 &+ $1.records },
                    payloadBytes: part.reduce(extra.bytes) { $0 &+ $1.payloadBytes },
                    firstWallMicros: firstWall == .max ? 0 : firstWall, lastWallMicros: lastWall == .min ? 0 : lastWall,
                    sessions: part))
            start = end
        } while start < ordered.count
        return out
    }

    /// The losses of each session on its own (for a file per session), with the causes and detail.
    func bySession() -> [(UInt32, RecordLossTally)] {
        sessions.values.sorted { $0.session < $1.session }.map { loss in
            var part = RecordLossTally()
            part.sessions[loss.session] = loss
            part.causes = causes
            part.detail = detail
            part.records = loss.records
            part.payloadBytes = loss.payloadBytes
            return (loss.session, part)
        }
    }

    /// Upper bound of the bytes the gap blocks take in the file.
    var encodedLength: Int { isEmpty ? 0 : encodedLength(adding: 0) }

    /// Upper bound of the bytes the gap blocks would take with entries for `more` sessions more.
    func encodedLength(adding more: Int) -> Int {
        let count = sessions.count + more
        let blocks = count / BlockHeader.maximumSessions + 1
        return blocks * (BlockHeader.fixedLength + 24 + RecordGap.detailLimit) + count * (4 + RecordGap.entryLength)
    }
}
