import NIOConcurrencyHelpers
import RFB
import RecordFormat

/// The recording as the viewer knows it so far: its sessions (``ViewerSession``), file-level
/// markers, gap blocks and damage. ``ViewerLoader`` feeds it (the whole file, or block by block with
/// `--follow`) while the HTTP server reads it; a lock keeps the two apart.
public final class ViewerRecording: @unchecked Sendable {
    public let path: String

    /// Damage with what was read last before it: where the readable part stops.
    struct DamageNote {
        var damage: Damage
        var afterSession: UInt32?
        var afterTimeMicros: UInt64?
    }

    private struct State {
        var format: RecordSource.Format?
        var fileSize: UInt64 = 0
        var sessions: [UInt32: ViewerSession] = [:]
        var order: [UInt32] = []
        var fileMarkers: [(wallMicros: UInt64, text: String)] = []
        var gaps: [RecordGap] = []
        var damages: [DamageNote] = []
        var last: (session: UInt32, timeMicros: UInt64)?
        var following = false
        var reading = true
        var failure: String?
    }

    private let lock = NIOLock()
    private var state = State()
    private let keyframeIntervalMicros: UInt64

    /// - Parameter keyframeIntervalMicros: session time between two keyframes kept for seeking.
    public init(path: String, keyframeIntervalMicros: UInt64 = 5_000_000) {
        self.path = path
        self.keyframeIntervalMicros = keyframeIntervalMicros
    }

    func began(format: RecordSource.Format, following: Bool) {
        lock.withLock {
            state.format = format
            state.following = following
        }
    }

    func apply(_ entry: RecordEntry) {
        lock.withLock {
            switch entry {
            case .record(let record):
                if record.session == 0 {
                    if case .marker(let text) = record.body { state.fileMarkers.append((record.timeMicros, text)) }
                    return
                }
                session(record.session).apply(record)
                state.last = (record.session, record.timeMicros)
            case .gap(let gap):
                state.gaps.append(gap)
                for loss in gap.sessions where loss.session != 0 { session(loss.session).apply(loss, causes: gap.causes) }
            }
        }
    }

    func noteDamage(_ damage: Damage) {
        lock.withLock {
            state.damages.append(DamageNote(damage: damage, afterSession: state.last?.session, afterTimeMicros: state.last?.timeMicros))
        }
    }

    func noteSize(_ size: UInt64) { lock.withLock { state.fileSize = size } }

    /// Reading ended (the whole file, or following stopped): sessions stop growing.
    func finishReading(failure: String? = nil) {
        lock.withLock {
            state.reading = false
            state.failure = failure
            for session in state.sessions.values { session.fileGrowing = false }
        }
    }

    /// Runs `body` with session `number` (nil when the file has no such session) under the lock.
    func withSession<T>(_ number: UInt32, _ body: (ViewerSession) -> T) -> T? {
        lock.withLock { state.sessions[number].map(body) }
    }

    /// Session numbers in order of first appearance.
    var sessionNumbers: [UInt32] { lock.withLock { state.order } }

    private func session(_ number: UInt32) -> ViewerSession {
        if let session = state.sessions[number] { return session }
        let session = ViewerSession(number: number, keyframeIntervalMicros: keyframeIntervalMicros)
        state.sessions[number] = session
        state.order.append(number)
        return session
    }

    /// `/api/recording`: the file, its sessions, markers, gaps and damage.
    func summaryJSON() -> RFBJSONObject {
        lock.withLock {
            var object = RFBJSONObject()
            object.add("path", path)
            if let format = state.format { object.add("format", format.rawValue) }
            object.add("file_bytes", state.fileSize)
            object.add("following", state.following)
            object.add("reading", state.reading)
            if let failure = state.failure { object.add("failure", failure) }
            object.add("sessions", objects: state.order.compactMap { state.sessions[$0]?.summaryJSON() })
            object.add("markers", objects: state.fileMarkers.map { marker in
                var m = RFBJSONObject()
                m.add("wall_us", marker.wallMicros)
                m.add("text", marker.text)
                return m
            })
            object.add("gaps", objects: state.gaps.map { gap in
                var g = RFBJSONObject()
                g.add("causes", strings: gap.causes.names)
                g.add("detail", gap.detail)
                g.add("records", gap.records)
                g.add("payload_bytes", gap.payloadBytes)
                g.add("sessions", numbers: gap.sessions.map(\.session))
                return g
            })
            object.add("damages", objects: state.damages.map { note in
                var d = RFBJSONObject()
                d.add("kind", note.damage.kind.rawValue)
                d.add("offset", note.damage.offset)
                d.add("length", note.damage.length)
                d.add("text", note.damage.description)
                if let session = note.afterSession, let time = note.afterTimeMicros {
                    d.add("after_session", session)
                    d.add("after_us", time)
                }
                return d
            })
            return object
        }
    }
}
