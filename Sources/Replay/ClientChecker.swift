import RFB
import RecordFormat

/// Compares what the client sends with the recording's client→target stream, regardless of framing.
///
/// The recorded stream is cut into *units* the client must send in order: each recorded client
/// frame's bytes in byte mode, or each significant RFB message in RFB mode. ``matchedUnits`` tells
/// the scheduler how far the client has come. In RFB mode FramebufferUpdateRequest and
/// PointerEvent messages are free (their regions, positions and timing may differ, and they need
/// not be there at all); ProtocolVersion, security choice, ClientInit, SetPixelFormat, SetEncodings,
/// KeyEvent and ClientCutText must match byte for byte; any 16-byte VNC authentication response
/// matches the recorded one.
public struct ClientChecker: Sendable {
    /// One thing the client is expected to send.
    public struct Unit: Sendable, Equatable {
        public var offset: UInt64
        public var length: Int
        public var recordIndex: Int
        public var timeMicros: UInt64
        /// `bytes`, or the RFB message name.
        public var name: String
        var isAuthResponse = false

        /// Offset just past this unit in the recorded client stream.
        public var end: UInt64 { offset + UInt64(length) }
    }

    public let session: UInt32
    public let rfb: Bool
    public private(set) var units: [Unit] = []
    public private(set) var matchedUnits = 0
    /// True once a divergence was found: the streams are no longer compared.
    public private(set) var diverged = false
    /// Things worth saying that are not divergences (e.g. where RFB checking stopped).
    public private(set) var notes: [String] = []

    private let recorded: [UInt8]
    private var actual: [UInt8] = []
    /// RFB: the recording's client stream could only be followed up to here.
    private var recordedFollowedUpTo: UInt64?
    private var parser = RFBClientStreamParser()
    /// Actual RFB messages that were free (FramebufferUpdateRequest, PointerEvent).
    public private(set) var freeMessages = 0

    /// - Parameter rfb: apply the RFB rules (else plain byte comparison).
    public init(session: RecordedSession, rfb: Bool) {
        self.session = session.number
        self.rfb = rfb
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

    private mutating func buildRFBUnits(_ session: RecordedSession) {
        var recordedParser = RFBClientStreamParser()
        var lastClient: RecordedSession.Event?
        var stopped = false
        for event in session.events where !stopped {
            let parsed: [RFBClientStreamParser.Parsed]
            if event.direction == .targetToClient {
                parsed = recordedParser.feedServer(event.bytes)
            } else {
                lastClient = event
                parsed = recordedParser.feedClient(event.bytes)
            }
            for item in parsed {
                if case .unknown(let type) = item.message {
                    notes.append(
                        "the recording's client stream has an RFB message of unknown type \(type) at offset \(item.offset); later client bytes are not checked"
                    )
                    recordedFollowedUpTo = item.offset
                    stopped = true
                    break
                }
                guard !Self.isFree(item.message) else { continue }
                units.append(
                    Unit(
                        offset: item.offset, length: item.length,
                        recordIndex: lastClient?.recordIndex ?? event.recordIndex,
                        timeMicros: lastClient?.timeMicros ?? event.timeMicros, name: item.message.name,
                        isAuthResponse: item.message == .vncAuthResponse))
            }
            if !stopped, case .lost(let why) = recordedParser.state {
                notes.append(
                    "the recording's RFB client stream cannot be followed (\(why)); later client bytes are not checked")
                recordedFollowedUpTo = units.last?.end ?? 0
                stopped = true
            }
        }
    }

    static func isFree(_ message: RFBClientMessage) -> Bool {
        switch message {
        case .framebufferUpdateRequest, .pointerEvent: true
        default: false
        }
    }

    /// Bytes the replay sent to the client (RFB mode follows the security handshake with them).
    public mutating func serverBytes(_ bytes: [UInt8], atMicros now: UInt64) -> [Divergence] {
        guard rfb else { return [] }
        return handle(parser.feedServer(bytes), now: now)
    }

    /// Bytes the client sent; returns new divergences (at most one per session).
    public mutating func clientBytes(_ bytes: [UInt8], atMicros now: UInt64) -> [Divergence] {
        let start = actual.count
        actual += bytes
        if rfb { return handle(parser.feedClient(bytes), now: now) }
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
        while matchedUnits < units.count, units[matchedUnits].end <= UInt64(actual.count) { matchedUnits += 1 }
        return []
    }

    /// The client closed or the session ended: what it never sent.
    public mutating func finish(atMicros now: UInt64) -> [Divergence] {
        missing(matchedUnits, now: now) { "the client never sent \($0) at offset \($1)" }
    }

    /// The client did not send unit `index` in time.
    public mutating func timedOut(waitingFor index: Int, seconds: Double, atMicros now: UInt64) -> [Divergence] {
        missing(index, now: now) { "the client did not send \($0) at offset \($1) within \(seconds) s" }
    }

    /// A `.missing` divergence for unit `index` (nothing once diverged or past the last unit);
    /// `message` gets what was expected and its recorded offset.
    private mutating func missing(_ index: Int, now: UInt64, _ message: (String, UInt64) -> String) -> [Divergence] {
        guard !diverged, index < units.count else { return [] }
        let unit = units[index]
        let what = rfb ? "the recorded \(unit.name)" : "the recorded bytes"
        return [
            diverge(
                .missing, message(what, UInt64(unit.offset)),
                recordedOffset: Int(unit.offset), actualOffset: actual.count, unit: unit, now: now)
        ]
    }

    private mutating func handle(_ parsed: [RFBClientStreamParser.Parsed], now: UInt64) -> [Divergence] {
        var out: [Divergence] = []
        for item in parsed where !diverged {
            if Self.isFree(item.message) {
                freeMessages += 1
                continue
            }
            if matchedUnits >= units.count {
                if recordedFollowedUpTo != nil { continue }
                out.append(
                    diverge(
                        .extra, "the client sent a \(item.message.name) the recording does not have",
                        recordedOffset: recorded.count, actualOffset: Int(item.offset), unit: units.last, now: now))
                continue
            }
            if case .unknown(let type) = item.message {
                out.append(
                    diverge(
                        .unparseable, "the client sent an RFB message of unknown type \(type)",
                        recordedOffset: Int(units[matchedUnits].offset), actualOffset: Int(item.offset),
                        unit: units[matchedUnits], now: now))
                continue
            }
            let unit = units[matchedUnits]
            let same: Bool
            if unit.isAuthResponse && item.message == .vncAuthResponse {
                same = true  // any password: the recorded challenge and result are replayed
            } else {
                let want = recorded[Int(unit.offset)..<Int(unit.end)]
                let got = actual[Int(item.offset)..<Int(item.offset) + item.length]
                same = want.elementsEqual(got)
            }
            if same {
                matchedUnits += 1
            } else {
                out.append(
                    diverge(
                        .mismatch,
                        "the client sent \(item.message.name) where the recording has \(unit.name)"
                            + (item.message.name == unit.name ? " with other contents" : ""),
                        recordedOffset: Int(unit.offset), actualOffset: Int(item.offset), unit: unit, now: now))
            }
        }
        if !diverged, recordedFollowedUpTo == nil, case .lost(let why) = parser.state {
            let unit = matchedUnits < units.count ? units[matchedUnits] : units.last
            out.append(
                diverge(
                    .unparseable, "the client's RFB stream cannot be followed: \(why)",
                    recordedOffset: Int(unit?.offset ?? UInt64(recorded.count)), actualOffset: actual.count,
                    unit: unit, now: now))
        }
        return out
    }

    private mutating func diverge(
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
