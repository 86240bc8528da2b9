import RecordFormat
import WebSocketWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One recorded session, ready to be played: both byte streams in record order, regardless of framing.
public struct RecordedSession: Sendable, Equatable {
    /// A run of payload bytes one side sent (one data message, or one frame of one).
    public struct Event: Sendable, Equatable {
        /// Index of the record among the file's records (0-based), for reports.
        public var recordIndex: Int
        /// Microseconds since the session started.
        public var timeMicros: UInt64
        public var direction: Direction
        /// Offset of `bytes` in its direction's stream.
        public var offset: UInt64
        public var bytes: [UInt8]

        public init(recordIndex: Int, timeMicros: UInt64, direction: Direction, offset: UInt64, bytes: [UInt8]) {
            self.recordIndex = recordIndex
            self.timeMicros = timeMicros
            self.direction = direction
            self.offset = offset
            self.bytes = bytes
        }
    }

    /// How the recorded session ended.
    public struct Ending: Sendable, Equatable {
        public var closedBy: Closer
        public var code: UInt16?
        public var reason: String
        public var timeMicros: UInt64

        public init(closedBy: Closer, code: UInt16?, reason: String, timeMicros: UInt64) {
            self.closedBy = closedBy
            self.code = code
            self.reason = reason
            self.timeMicros = timeMicros
        }
    }

    /// The session's number in the file.
    public var number: UInt32
    /// The negotiated subprotocol, nil when none was.
    public var subprotocol: String?
    public var requestPath: String
    /// Data in record order, both directions.
    public var events: [Event]
    /// How it ended; nil when the recording stops before the end.
    public var ending: Ending?
    /// Where the recording lost records of this session (gap blocks, docs/record-format.md §5.4).
    public var gaps: [Gap] = []
    /// The time of its first open record (µs): 0 when the session starts in this file, above 0 when
    /// it goes on from an earlier file of a rotated recording (docs/record-format.md §7.1).
    public var startMicros: UInt64 = 0

    /// Records lost while recording: where their bytes would have been in the two streams.
    public struct Gap: Sendable, Equatable {
        /// Offsets in the client's and in the target's stream at which the lost bytes belong.
        public var clientOffset: UInt64
        public var targetOffset: UInt64
        /// Index among the file's records of the first record after the gap.
        public var recordIndex: Int
        public var loss: RecordGap.SessionLoss
        /// Why, e.g. "a block could not be written: No space left on device".
        public var cause: String

        public init(clientOffset: UInt64, targetOffset: UInt64, recordIndex: Int, loss: RecordGap.SessionLoss, cause: String) {
            self.clientOffset = clientOffset
            self.targetOffset = targetOffset
            self.recordIndex = recordIndex
            self.loss = loss
            self.cause = cause
        }
    }

    public init(number: UInt32, subprotocol: String?, requestPath: String = "", events: [Event], ending: Ending?) {
        self.number = number
        self.subprotocol = subprotocol
        self.requestPath = requestPath
        self.events = events
        self.ending = ending
    }

    /// Everything one side sent, concatenated.
    public func stream(_ direction: Direction) -> [UInt8] {
        events.filter { $0.direction == direction }.flatMap(\.bytes)
    }

    /// True when the target's stream starts with an RFB 3.x greeting (`RFB 003.00x`).
    public var looksLikeRFB: Bool {
        let greeting = Array("RFB 003.00".utf8)
        var prefix: [UInt8] = []
        for event in events where event.direction == .targetToClient {
            prefix += event.bytes
            if prefix.count >= greeting.count { break }
        }
        return prefix.count >= greeting.count && Array(prefix.prefix(greeting.count)) == greeting
    }

    /// Groups `records` into sessions, in order of first appearance. Payloads of base64 sessions
    /// are decoded; control frames are left out (the close becomes ``ending``). `gaps`: the file's
    /// gap blocks, each with the number of records before it; a session only a gap names (all its
    /// records lost) is left out.
    public static func sessions(from records: [Record], gaps: [(recordIndex: Int, gap: RecordGap)] = [])
        -> [RecordedSession]
    {
        var order: [UInt32] = []
        var builders: [UInt32: Builder] = [:]
        var nextGap = 0
        func addGaps(upTo index: Int) {
            while nextGap < gaps.count, gaps[nextGap].recordIndex <= index {
                let (at, gap) = gaps[nextGap]
                let cause = gap.detail.isEmpty ? gap.causes.text : gap.causes.text + ": " + gap.detail
                for loss in gap.sessions where loss.session != 0 {
                    if builders[loss.session] == nil {
                        order.append(loss.session)
                        builders[loss.session] = Builder(number: loss.session)
                    }
                    builders[loss.session]!.addGap(loss, index: at, cause: cause)
                }
                nextGap += 1
            }
        }
        for (index, record) in records.enumerated() {
            addGaps(upTo: index)
            guard record.session != 0 else { continue }
            if builders[record.session] == nil {
                order.append(record.session)
                builders[record.session] = Builder(number: record.session)
            }
            builders[record.session]!.add(record, index: index)
        }
        addGaps(upTo: records.count)
        return order.compactMap { builders[$0]!.hasRecords ? builders[$0]!.finish() : nil }
    }

    struct Builder {
        var session: RecordedSession
        var offsets: [UInt64] = [0, 0]
        var pendingText: [[UInt8]] = [[], []]
        var pendingTextStart: [(index: Int, time: UInt64)?] = [nil, nil]
        var closeFrame: (closer: Closer, code: UInt16?, reason: String, time: UInt64)?
        var hasRecords = false
        var opened = false

        init(number: UInt32) {
            session = RecordedSession(number: number, subprotocol: nil, events: [], ending: nil)
        }

        mutating func addGap(_ loss: RecordGap.SessionLoss, index: Int, cause: String) {
            session.gaps.append(
                Gap(clientOffset: offsets[0], targetOffset: offsets[1], recordIndex: index, loss: loss, cause: cause))
        }

        mutating func add(_ record: Record, index: Int) {
            hasRecords = true
            switch record.body {
            case .open(let open):
                session.subprotocol = open.subprotocol
                session.requestPath = open.requestPath
                if !opened && session.events.isEmpty { session.startMicros = record.timeMicros }
                opened = true
            case .close(let close):
                session.ending = Ending(
                    closedBy: close.closedBy, code: close.code ?? closeFrame?.code,
                    reason: close.reason.isEmpty ? (closeFrame?.reason ?? "") : close.reason,
                    timeMicros: record.timeMicros)
            case .marker:
                break
            case .frame(let frame):
                addFrame(frame, time: record.timeMicros, index: index)
            }
        }

        mutating func addFrame(_ frame: Frame, time: UInt64, index: Int) {
            let side = Int(frame.direction.rawValue)
            if frame.opcode == .close {
                if closeFrame == nil {
                    var code: UInt16?
                    var reason = ""
                    if frame.payload.count >= 2 {
                        code = UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1])
                        reason = String(decoding: frame.payload.dropFirst(2), as: UTF8.self)
                    }
                    closeFrame = (frame.direction == .clientToTarget ? .client : .target, code, reason, time)
                }
                return
            }
            guard !frame.opcode.isControl else { return }
            if session.subprotocol == "base64" {
                // Text frames carry base64; decode whole messages (a fragment may cut a quantum).
                if pendingTextStart[side] == nil { pendingTextStart[side] = (index, time) }
                pendingText[side] += frame.payload
                guard frame.isFinal else { return }
                let text = String(decoding: pendingText[side], as: UTF8.self)
                let bytes = Data(base64Encoded: text).map { [UInt8]($0) } ?? pendingText[side]
                pendingText[side] = []
                pendingTextStart[side] = nil
                append(direction: frame.direction, bytes: bytes, time: time, index: index)
            } else {
                append(direction: frame.direction, bytes: frame.payload, time: time, index: index)
            }
        }

        mutating func append(direction: Direction, bytes: [UInt8], time: UInt64, index: Int) {
            guard !bytes.isEmpty else { return }
            let side = Int(direction.rawValue)
            session.events.append(
                Event(recordIndex: index, timeMicros: time, direction: direction, offset: offsets[side], bytes: bytes))
            offsets[side] += UInt64(bytes.count)
        }

        func finish() -> RecordedSession {
            var out = session
            if out.ending == nil, let closeFrame {
                out.ending = Ending(
                    closedBy: closeFrame.closer, code: closeFrame.code, reason: closeFrame.reason,
                    timeMicros: closeFrame.time)
            }
            return out
        }
    }
}
