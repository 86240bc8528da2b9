import RFB
import RecordFormat

/// Follows every session of a recording as RFB (VNC) and turns each message into the line
/// `wsrecord-inspect dump --rfb` prints: time, session, direction, stream offset, description;
/// or a JSON object. Records are fed in file order; each session has its own
/// ``RFBSessionParser`` fed both directions in recorded order (docs/wsrecord-inspect.md). A gap
/// block stops the directions it lost frames of (``lines(for:)-(RecordGap)``).
public struct RFBDumpFormatter: Sendable {
    /// One RFB message (or problem) of a session, at the time of the record that completed it.
    public struct Line: Sendable {
        public var session: UInt32
        public var timeMicros: UInt64
        public var event: RFBParseEvent

        /// Who sent the message, in the recording's terms.
        public var direction: Direction { event.direction == .clientToServer ? .clientToTarget : .targetToClient }
    }

    private struct Session: Sendable {
        var parser = RFBSessionParser()
        var bytes = FrameBytes(base64: false)
        var lastTime: UInt64 = 0
    }

    private var sessions: [UInt32: Session] = [:]
    /// Sessions in order of first appearance, for ``finish()``.
    private var order: [UInt32] = []

    public init() {}

    /// The RFB messages `record` completes.
    public mutating func lines(for record: Record) -> [Line] {
        guard record.session != 0 else { return [] }
        if sessions[record.session] == nil {
            sessions[record.session] = Session()
            order.append(record.session)
        }
        var session = sessions[record.session]!
        session.lastTime = record.timeMicros
        var events: [RFBParseEvent] = []
        switch record.body {
        case .open(let open):
            session.bytes = FrameBytes(open)
        case .frame(let frame):
            let bytes = session.bytes.bytes(of: frame)
            let direction: RFBDirection = frame.direction == .clientToTarget ? .clientToServer : .serverToClient
            if frame.isRedacted {
                // In a base64 session the filler's length says little about the bytes it replaced.
                events = session.parser.feedRedacted(direction, count: session.bytes.base64 ? nil : frame.payload.count)
            } else {
                events = session.parser.feed(direction, bytes)
            }
        case .close:
            events = session.parser.finish()
        case .marker:
            break
        }
        sessions[record.session] = session
        return events.map { Line(session: record.session, timeMicros: record.timeMicros, event: $0) }
    }

    /// What a gap block means for the sessions it names: every direction that lost frames stops
    /// with a `lost` problem (nothing after the missing bytes can be placed), at the time of the
    /// first lost record. A direction already stopped gives no line.
    public mutating func lines(for gap: RecordGap) -> [Line] {
        var lines: [Line] = []
        for loss in gap.sessions where loss.session != 0 {
            if sessions[loss.session] == nil {
                sessions[loss.session] = Session()
                order.append(loss.session)
            }
            for direction in Direction.allCases where loss.totals(direction).frames > 0 {
                let lost = loss.totals(direction)
                let events = sessions[loss.session]!.parser.markLost(
                    direction == .clientToTarget ? .clientToServer : .serverToClient,
                    "the recording lost \(lost.frames) frames (\(lost.bytes) bytes) here (\(gap.causes.text))")
                lines += events.map { Line(session: loss.session, timeMicros: loss.firstTimeMicros, event: $0) }
            }
        }
        return lines
    }

    /// What sessions that never closed end inside of (a message cut short), after the last record.
    public mutating func finish() -> [Line] {
        var lines: [Line] = []
        for number in order {
            guard var session = sessions[number] else { continue }
            lines += session.parser.finish().map { Line(session: number, timeMicros: session.lastTime, event: $0) }
            sessions[number] = session
        }
        return lines
    }

    /// `    0.012000 s  1 c→t @12       SecurityChoice None (1)`.
    public static func text(_ line: Line) -> String {
        let fraction = String(line.timeMicros % 1_000_000)
        let time = "\(line.timeMicros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
        let arrow = line.direction == .clientToTarget ? "c→t" : "t→c"
        let offset = "@\(line.event.offset)"
        return String(repeating: " ", count: max(0, 12 - time.count)) + time + " s" + String(line.session)
            + String(repeating: " ", count: max(0, 3 - String(line.session).count)) + " \(arrow) " + offset
            + String(repeating: " ", count: max(1, 10 - offset.count)) + line.event.description
    }

    /// One JSON object: `session`, `time_us`, `from` (`client` or `target`, as in `dump --json`),
    /// then the message's fields (``RFBParseEvent/json``).
    public static func json(_ line: Line) -> String {
        var object = RFBJSONObject()
        object.add("session", line.session)
        object.add("time_us", line.timeMicros)
        object.add("from", line.direction.senderName)
        for member in line.event.json.members where member.key != "from" { object.add(member.key, json: member.json) }
        return object.rendered
    }
}
