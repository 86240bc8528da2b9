import RFB
import RFBRules
import RecordFormat

/// Compares what the client sends with the recording's client→target stream, regardless of framing.
///
/// The recorded stream is cut into *units* the client must send in order: each recorded client
/// frame's bytes in byte mode, or each RFB message the rules compare in RFB mode (by default all
/// but FramebufferUpdateRequest and PointerEvent, which may differ or be absent; see
/// ``RFBRuleSet``). ``matchedUnits`` tells the scheduler how far the client has come.
///
/// RFB messages are compared as decoded messages (``RFBSessionParser``), and the checker keeps
/// going after a divergence: a message that is not the next one expected is looked for among the
/// next ``lookAhead`` units, so that a changed, missing, extra or reordered message is reported as
/// such and the rest is still checked. With `stopAtFirst` (and always in byte mode) it stops at
/// the first divergence.
public struct ClientChecker: Sendable {
    /// One thing the client is expected to send.
    public struct Unit: Sendable, Equatable {
        public var offset: UInt64
        public var length: Int
        public var recordIndex: Int
        public var timeMicros: UInt64
        /// `bytes`, or the RFB message name.
        public var name: String
        /// RFB: the decoded message and its index among the session's client messages.
        public var message: RFBMessage?
        public var messageIndex: Int?

        /// Offset just past this unit in the recorded client stream.
        public var end: UInt64 { offset + UInt64(length) }
    }

    /// What became of a unit.
    enum UnitState: Sendable, Equatable {
        case pending
        /// Passed over for a later unit: missing unless it comes within the look-ahead.
        case skipped
        case matched, allowed, changed, reordered, missing

        /// Whether the client is past this unit (a missing one holds the frames that depend on it).
        var isDone: Bool { self != .pending && self != .skipped && self != .missing }
    }

    /// How many units a message that is not the next one expected is looked for in.
    public static let lookAhead = 16

    public let session: UInt32
    public let rfb: Bool
    public let rules: RFBRuleSet
    public let stopAtFirst: Bool
    public internal(set) var units: [Unit] = []
    /// How many units from the start the client is past (the scheduler's progress): matched,
    /// allowed, changed or reordered; a missing or still expected unit stops it.
    public internal(set) var matchedUnits = 0
    /// True once a divergence was found (with `stopAtFirst`, the streams are no longer compared).
    public internal(set) var diverged = false
    /// Things worth saying that are not divergences (e.g. where RFB checking stopped).
    public internal(set) var notes: [String] = []
    /// Actual RFB messages the rules leave out (by default FramebufferUpdateRequest, PointerEvent).
    public internal(set) var freeMessages = 0
    /// RFB messages compared, and of those the ones that were the same or differed as the rules allow.
    public internal(set) var checkedMessages = 0
    public internal(set) var sameMessages = 0
    public internal(set) var allowedMessages = 0

    let recorded: [UInt8]
    var actual: [UInt8] = []
    var states: [UnitState] = []
    /// RFB: the next unit expected when the client's messages are in the recorded order.
    var cursor = 0
    /// RFB: units passed over for a later one, in order; missing unless they come late.
    var skipped: [Int] = []
    /// RFB: the unit last found at or after ``cursor``.
    var lastResolved: Int?
    /// The recording's client stream could only be followed up to here.
    var recordedFollowedUpTo: UInt64?
    var parser = RFBSessionParser()
    /// The client's stream could not be followed: nothing more is compared.
    var actualLost = false

    /// - Parameters:
    ///   - rfb: apply the RFB rules (else plain byte comparison).
    ///   - rules: which RFB differences are expected.
    ///   - stopAtFirst: stop comparing at the first divergence (byte mode always does).
    public init(session: RecordedSession, rfb: Bool, rules: RFBRuleSet = .standard, stopAtFirst: Bool = false) {
        self.session = session.number
        self.rfb = rfb
        self.rules = rules
        self.stopAtFirst = stopAtFirst || !rfb
        self.recorded = session.stream(.clientToTarget)
        if rfb {
            buildRFBUnits(session)
        } else {
            units = session.events.filter { $0.direction == .clientToTarget }.map {
                Unit(
                    offset: $0.offset, length: $0.bytes.count, recordIndex: $0.recordIndex, timeMicros: $0.timeMicros,
                    name: "bytes")
            }
        }
        stopAtGap(session)
        states = Array(repeating: .pending, count: units.count)
    }

    /// Client bytes lost while recording leave the recorded stream short of what the client will
    /// send: it is checked only up to the first such gap.
    private mutating func stopAtGap(_ session: RecordedSession) {
        guard let gap = session.gaps.first(where: { $0.loss.clientToTarget.frames > 0 }) else { return }
        let limit = gap.clientOffset
        if let followed = recordedFollowedUpTo, followed <= limit { return }
        units.removeAll { $0.end > limit }
        recordedFollowedUpTo = limit
        notes.append(
            "the recording lost \(gap.loss.clientToTarget.bytes) client bytes (\(gap.loss.clientToTarget.frames) frames) "
                + "at offset \(limit) of the client stream (a gap: \(gap.cause)); later client bytes are not checked")
    }

    /// Bytes the replay sent to the client (RFB mode follows the handshake and extensions with them).
    public mutating func serverBytes(_ bytes: [UInt8], atMicros now: UInt64) -> [Divergence] {
        guard rfb, !actualLost else { return [] }
        return handle(parser.feed(.serverToClient, bytes), now: now)
    }

    /// Bytes the client sent; returns new divergences.
    public mutating func clientBytes(_ bytes: [UInt8], atMicros now: UInt64) -> [Divergence] {
        let start = actual.count
        actual += bytes
        if rfb {
            guard !actualLost else { return [] }
            return handle(parser.feed(.clientToServer, bytes), now: now)
        }
        guard !diverged else { return [] }
        for (i, byte) in bytes.enumerated() {
            let position = start + i
            if let limit = recordedFollowedUpTo, UInt64(position) >= limit { break }  // past a gap: not checked
            if position >= recorded.count {
                return [
                    diverge(
                        .extra, "the client sent more than the \(recorded.count) bytes recorded",
                        recordedOffset: recorded.count, actualOffset: position, unit: units.last, now: now)
                ]
            }
            if recorded[position] != byte {
                let unit = units.last { $0.offset <= UInt64(position) }
                return [
                    diverge(
                        .mismatch, "the client's byte at offset \(position) differs from the recording",
                        recordedOffset: position, actualOffset: position, unit: unit, now: now)
                ]
            }
        }
        while matchedUnits < units.count, units[matchedUnits].end <= UInt64(actual.count) {
            states[matchedUnits] = .matched
            matchedUnits += 1
        }
        return []
    }

    /// The client closed or the session ended: what it never sent.
    public mutating func finish(atMicros now: UInt64) -> [Divergence] {
        guard rfb else {
            return missingBytes(matchedUnits, now: now) { "the client never sent \($0) at offset \($1)" }
        }
        return finishRFB(now: now)
    }

    /// The client did not send unit `index` in time.
    public mutating func timedOut(waitingFor index: Int, seconds: Double, atMicros now: UInt64) -> [Divergence] {
        guard rfb else {
            return missingBytes(index, now: now) { "the client did not send \($0) at offset \($1) within \(seconds) s" }
        }
        return timedOutRFB(index, seconds: seconds, now: now)
    }

    /// Byte mode: a `.missing` divergence for unit `index` (nothing once diverged or past the
    /// last unit); `message` gets what was expected and its recorded offset.
    private mutating func missingBytes(_ index: Int, now: UInt64, _ message: (String, UInt64) -> String)
        -> [Divergence]
    {
        guard !diverged, index < units.count else { return [] }
        let unit = units[index]
        return [
            diverge(
                .missing, message("the recorded bytes", unit.offset), recordedOffset: Int(unit.offset),
                actualOffset: actual.count, unit: unit, now: now)
        ]
    }

    mutating func diverge(
        _ kind: Divergence.Kind, _ message: String, recordedOffset: Int, actualOffset: Int, unit: Unit?, now: UInt64
    ) -> Divergence {
        diverged = true
        return Divergence(
            session: session, kind: kind, stream: "client", message: message, recordedOffset: UInt64(recordedOffset),
            actualOffset: UInt64(actualOffset), recordIndex: unit?.recordIndex, recordedTimeMicros: unit?.timeMicros,
            actualTimeMicros: now, recordedHex: Divergence.hex(recorded, from: recordedOffset),
            actualHex: Divergence.hex(actual, from: actualOffset))
    }

    /// All client bytes received so far.
    public var receivedBytes: Int { actual.count }
}
