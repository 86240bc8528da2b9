import RFB
import RFBRules
import RecordFormat

/// Plays one recorded session against one client, without I/O: fed the client's bytes and the time,
/// it says what to send and when, checks the client, and keeps the figures for the report.
public struct ReplayEngine: Sendable {
    /// How to play.
    public struct Options: Sendable, Equatable {
        public var pacing: ReplayScheduler.Pacing
        /// Wait for the client's recorded messages before playing past them (`--sync=client`).
        public var syncToClient: Bool
        public var waitTimeoutNanos: UInt64
        /// Apply RFB rules when the session looks like RFB (`--no-rfb` turns this off).
        public var rfbAware: Bool
        /// Which RFB client differences are expected (`--allow`, `--ignore`, `--rules`).
        public var rules: RFBRuleSet
        /// Stop checking the client at the first divergence and play on by the clock (`--stop-at-first`).
        public var stopAtFirst: Bool
        /// Close right after the last frame even where the recording's target did not close
        /// (`--close-at-end`); otherwise such a session is held open.
        public var closeAtEnd: Bool
        /// How long a session is held open after the last frame for the client to close (`--hold-timeout`).
        public var holdTimeoutNanos: UInt64

        /// The default hold: long enough to look at or capture the client's final screen.
        public static let defaultHoldTimeoutNanos: UInt64 = 30_000_000_000

        public init(
            pacing: ReplayScheduler.Pacing = .speed(1), syncToClient: Bool = true,
            waitTimeoutNanos: UInt64 = 10_000_000_000, rfbAware: Bool = true, rules: RFBRuleSet = .standard,
            stopAtFirst: Bool = false, closeAtEnd: Bool = false, holdTimeoutNanos: UInt64 = defaultHoldTimeoutNanos
        ) {
            self.pacing = pacing
            self.syncToClient = syncToClient
            self.waitTimeoutNanos = waitTimeoutNanos
            self.rfbAware = rfbAware
            self.rules = rules
            self.stopAtFirst = stopAtFirst
            self.closeAtEnd = closeAtEnd
            self.holdTimeoutNanos = holdTimeoutNanos
        }
    }

    public enum Action: Sendable, Equatable {
        /// Send these bytes to the client as one data frame.
        case send([UInt8])
        /// Call ``next(nowNanos:clientWritable:)`` again at this time (or when the client sends).
        case wait(untilNanos: UInt64)
        /// Call again when the client is writable.
        case waitForWritable
        /// Close with this code and reason (the recorded close).
        case close(code: UInt16?, reason: String)
        /// Nothing more to do.
        case done
    }

    public let session: RecordedSession
    public let options: Options
    public private(set) var checker: ClientChecker
    public private(set) var scheduler: ReplayScheduler
    public private(set) var result: SessionResult
    /// The session as it happens, when it is to be written (`--record-client`); nil otherwise.
    public var transcript: ReplayTranscript?
    private let frames: [RecordedSession.Event]
    private let startNanos: UInt64
    private var closing = false
    private var closeDeadline: UInt64?
    /// The recorded close, due at its recorded time.
    private var pendingClose: (at: UInt64, code: UInt16?, reason: String)?
    private var over = false
    /// Frames not played because a client message they follow never came (`--sync client`).
    private var heldBack: (unit: ClientChecker.Unit, frames: Int)?

    public init(session: RecordedSession, options: Options, startNanos: UInt64) {
        self.session = session
        self.options = options
        self.startNanos = startNanos
        let rfb = options.rfbAware && session.looksLikeRFB
        let checker = ClientChecker(
            session: session, rfb: rfb, rules: options.rules, stopAtFirst: options.stopAtFirst)
        self.checker = checker
        // Each target frame requires the client units completed before it in record order.
        var items: [ReplayScheduler.Item] = []
        var frames: [RecordedSession.Event] = []
        var clientEnd: UInt64 = 0
        var required = 0
        for event in session.events {
            if event.direction == .clientToTarget {
                clientEnd = event.offset + UInt64(event.bytes.count)
                while required < checker.units.count, checker.units[required].end <= clientEnd { required += 1 }
            } else {
                frames.append(event)
                items.append(
                    ReplayScheduler.Item(
                        timeMicros: event.timeMicros, requiredUnits: required,
                        requiredAtMicros: required > 0 ? checker.units[required - 1].timeMicros : 0))
            }
        }
        self.frames = frames
        self.scheduler = ReplayScheduler(
            items: items, pacing: options.pacing, syncToClient: options.syncToClient,
            waitTimeoutNanos: options.waitTimeoutNanos, startNanos: startNanos, startMicros: session.startMicros)
        self.result = SessionResult(
            session: session.number, rfb: rfb, recordedTargetBytes: UInt64(session.stream(.targetToClient).count),
            recordedTargetFrames: frames.count, recordedClientBytes: UInt64(session.stream(.clientToTarget).count),
            expectedClientUnits: checker.units.count)
        result.notes += checker.notes
        for gap in session.gaps where gap.loss.targetToClient.frames > 0 {
            result.notes.append(
                "the recording lost \(gap.loss.targetToClient.bytes) target bytes (\(gap.loss.targetToClient.frames) frames) "
                    + "at offset \(gap.targetOffset) of the target stream (a gap: \(gap.cause)); the client got the stream "
                    + "without them")
        }
    }

    private func micros(_ now: UInt64) -> UInt64 { now >= startNanos ? (now - startNanos) / 1000 : 0 }
    /// `now` on the recording's clock, for comparing with recorded times: a continued session's
    /// clock starts at its open record's time.
    private func recordedClock(_ now: UInt64) -> UInt64 { session.startMicros &+ micros(now) }

    /// The client sent `bytes` (payload of its data frames).
    public mutating func clientData(_ bytes: [UInt8], nowNanos now: UInt64) {
        result.framesReceived += 1
        result.bytesReceived += UInt64(bytes.count)
        let time = micros(now)
        transcript?.add(.clientToTarget, bytes, atMicros: time)
        add(checker.clientBytes(bytes, atMicros: recordedClock(now)))
    }

    private mutating func add(_ divergences: [Divergence]) {
        guard !divergences.isEmpty else { return }
        result.divergences += divergences
        result.matchedClientUnits = checker.matchedUnits
        // Stopping at the first: the streams no longer line up, waiting for the client would only
        // time out. Keeping going, the checker resynchronises and a missing message holds back
        // what follows it.
        if checker.stopAtFirst { scheduler.stopSyncing() }
    }

    /// What to do now.
    public mutating func next(nowNanos now: UInt64, clientWritable: Bool) -> Action {
        if over { return .done }
        if closing {
            if let pending = pendingClose {
                if now < pending.at { return .wait(untilNanos: pending.at) }
                over = true
                return .close(code: pending.code, reason: pending.reason)
            }
            guard let deadline = closeDeadline else { return .done }
            if now < deadline { return .wait(untilNanos: deadline) }
            // The client did not close while the session was held: close for it.
            over = true
            let seconds = ClientChecker.seconds(Double(holdNanos) / 1e9)
            result.notes.append("the client did not close within \(seconds) s after the last frame; closing with 1000")
            return .close(code: 1000, reason: "replay finished")
        }
        while true {
            switch scheduler.next(nowNanos: now, clientUnits: checker.matchedUnits, clientWritable: clientWritable) {
            case .send(let index, let scheduled):
                let frame = frames[index]
                result.framesSent += 1
                result.bytesSent += UInt64(frame.bytes.count)
                if let scheduled { result.latenessNanos.append(now >= scheduled ? now - scheduled : 0) }
                let time = micros(now)
                transcript?.add(.targetToClient, frame.bytes, atMicros: time)
                add(checker.serverBytes(frame.bytes, atMicros: recordedClock(now)))
                return .send(frame.bytes)
            case .sleep(let until):
                return .wait(untilNanos: until)
            case .waitForClient(_, let until):
                return .wait(untilNanos: until)
            case .waitForWritable:
                return .waitForWritable
            case .clientTimedOut(let required):
                let seconds = Double(options.waitTimeoutNanos) / 1e9
                let stuck = min(checker.matchedUnits, max(0, required - 1))
                add(checker.timedOut(waitingFor: max(0, required - 1), seconds: seconds, atMicros: recordedClock(now)))
                if options.syncToClient && checker.matchedUnits < required
                    && stuck < checker.units.count
                {
                    // What the user saw after it did not happen: play nothing more.
                    heldBack = (checker.units[stuck], frames.count - scheduler.nextIndex)
                    return finishPlaying(now: now)
                }
                if options.syncToClient && checker.matchedUnits >= required && !(checker.stopAtFirst && checker.diverged) {
                    // The rules let that message be missing: go on waiting for the next ones.
                    scheduler.resumeSyncing()
                }
                continue
            case .finished:
                return finishPlaying(now: now)
            }
        }
    }

    /// How long the session is held open for the client to close.
    private var holdNanos: UInt64 { options.closeAtEnd ? options.waitTimeoutNanos : options.holdTimeoutNanos }

    /// After the last frame (or frames held back): the server closes only where the recording's
    /// target (or the proxy) closed; a session the client closed, or whose end the recording
    /// does not say (legacy files, a recording cut short), is held open until the client closes
    /// or the hold timeout passes, so that the client keeps its final screen. `--close-at-end`
    /// closes any session but a client-closed one at its recorded end.
    private mutating func finishPlaying(now: UInt64) -> Action {
        closing = true
        let ending = session.ending
        // The recorded end is due at its recorded time (right away with --fast or without a record).
        let due = ending.map { max(now, scheduler.due($0.timeMicros)) } ?? now
        let targetClosed = ending.map { $0.closedBy == .target || $0.closedBy == .proxy } ?? false
        let closes = heldBack == nil && (options.closeAtEnd ? ending?.closedBy != .client : targetClosed)
        if !closes {
            // Wait for the client to close, as it did in the recording (or may now).
            closeDeadline = ReplayScheduler.later(due, by: holdNanos)
            return .wait(untilNanos: closeDeadline!)
        }
        pendingClose = (due, ending?.code ?? 1000, ending?.reason ?? "")
        return next(nowNanos: now, clientWritable: true)
    }

    /// The session ended (`closedBy` the client or not); records what the client never sent and
    /// what the replay never got to send.
    public mutating func ended(clientClosed: Bool, code: UInt16?, nowNanos now: UInt64) {
        over = true
        result.closedByClient = clientClosed
        result.closeCode = code
        result.durationMicros = micros(now)
        transcript?.closed(by: clientClosed ? .client : .target, code: code, atMicros: result.durationMicros)
        result.transcript = transcript
        add(checker.finish(atMicros: recordedClock(now)))
        result.matchedClientUnits = checker.matchedUnits
        result.freeClientMessages = checker.freeMessages
        result.checkedClientMessages = checker.checkedMessages
        result.sameClientMessages = checker.sameMessages
        result.allowedClientMessages = checker.allowedMessages
        if let heldBack, scheduler.nextIndex < frames.count {
            let unsent = frames[scheduler.nextIndex]
            let what = checker.rfb ? heldBack.unit.message.map(\.description) ?? heldBack.unit.name : "the recorded bytes"
            result.heldBackFrames = heldBack.frames
            result.notes.append(
                "\(heldBack.frames) recorded target frames (from offset \(unsent.offset), record #\(unsent.recordIndex)) were "
                    + "not sent: they follow the client's \(what) (record #\(heldBack.unit.recordIndex)), which never came")
        } else if scheduler.nextIndex < frames.count {
            let unsent = frames[scheduler.nextIndex]
            let text =
                "the session ended with \(frames.count - scheduler.nextIndex) recorded target frames (from offset \(unsent.offset)) not sent"
            if clientClosed && session.ending?.closedBy == .client {
                // The client ends such sessions; where it does so is its business.
                result.notes.append(text)
            } else {
                result.divergences.append(
                    Divergence(
                        session: session.number, kind: .incomplete, stream: "target", message: text,
                        recordedOffset: unsent.offset, actualOffset: result.bytesSent, recordIndex: unsent.recordIndex,
                        recordedTimeMicros: unsent.timeMicros, actualTimeMicros: recordedClock(now),
                        recordedHex: Divergence.hex(unsent.bytes, from: 0), actualHex: ""))
            }
        }
    }
}
