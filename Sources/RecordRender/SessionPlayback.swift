import RFB
import RFBDecoding
import RecordFormat
import WebSocketWire

/// One session of a recording played through the RFB framebuffer decoder, to be looked at any
/// moment: ``screen(at:)`` gives the screen after every record of the session up to that time
/// (µs since the session start), in file order. Going forward continues the decoding; going back,
/// or far forward, goes on from the nearest keyframe before the moment (a decoder snapshot taken
/// every ``KeyframeOptions/intervalMicros`` of session time while decoding, kept in memory and,
/// with ``saveKeyframes()``, in a cache file beside the recording) or else from the open record.
public final class SessionPlayback {
    public let path: String
    public let session: UInt32
    /// The session's open record.
    public let open: SessionOpen
    /// Everything noted so far (decoder problems, losses, damage), in the order found.
    public private(set) var notes: [RenderNote] = []
    /// Records fed to the decoder since this playback was made (the cost of the moments asked).
    public private(set) var recordsDecoded = 0
    /// The recording is damaged or has a time out of range (noted): what `verify` calls a problem.
    public private(set) var recordingDamaged = false
    /// The time of the last record of the session, once the end was reached.
    public private(set) var endMicros: UInt64?
    /// Where the last ``screen(at:)`` started decoding: the time of the keyframe it went on from,
    /// 0 for the session start, nil when it went on from where the previous one stopped.
    public internal(set) var lastStartMicros: UInt64?
    /// Draw the pointer's cursor (its shape from the server's Cursor/XCursor rectangles, at the
    /// position of the last PointerEvent or PointerPos) into the screens given.
    public var drawsCursor = false
    /// Keyframes known (made or read from the cache), and how many came from the cache.
    public var keyframeCount: Int { keyframes.count }
    public internal(set) var keyframesFromCache = 0

    let options: KeyframeOptions
    var keyframes: [Keyframe] = []
    /// Keyframes were made or dropped since the cache was read or written.
    var keyframesChanged = false
    /// The recording as it was when opened, and the cache's path.
    let identity: KeyframeCache.Identity?
    let cachePath: String?

    let records: SessionRecords
    var state: State
    /// An entry read but not applied: it is later than the time asked.
    var pending: SessionRecords.Entry?
    var damagesNoted = 0
    /// The cache file is not a regular file: it is not replaced.
    var cacheRefused = false
    private var noted: Set<String> = []
    private var momentsAsked = 0

    /// What playing the session so far has built.
    struct State {
        var decoder = RFBFramebufferDecoder()
        var bytes: FrameBytes
        /// The latest time of the records applied.
        var reachedMicros: UInt64 = 0
        /// The target's frames were lost from here: nothing after is drawn.
        var frozen = false
        /// The decoder was told the stream ended (the close record, or the end of the file).
        var finished = false
        /// The end of the file was reached.
        var atEnd = false
        /// Records of the session applied (the open record included).
        var ordinal: UInt64 = 0
        /// Per direction: a fragmented message is under way (no keyframe then: FrameBytes holds part
        /// of a base64 message).
        var midMessage = [false, false]
    }

    /// Opens `path` (either format) and finds `session`'s open record; reads the keyframe cache
    /// when `keyframes` names one (a stale or damaged cache is noted and not used).
    public init(path: String, session: UInt32, keyframes options: KeyframeOptions = .memoryOnly) throws(RenderError) {
        self.path = path
        self.session = session
        self.options = options
        identity = KeyframeCache.Identity(path: path)
        cachePath = KeyframeCache.path(for: path, in: options.cache)
        do {
            records = try SessionRecords(path: path, session: session)
            try records.rewind()
            var found: SessionOpen?
            while found == nil, let entry = try records.next() {
                if case .record(let record, _) = entry, case .open(let open) = record.body { found = open }
            }
            guard let found else { throw RenderError("there is no session \(session) in this recording", path: path) }
            open = found
        } catch let error as RenderError {
            throw error
        } catch {
            throw RenderError("\(error)")
        }
        state = State(bytes: FrameBytes(open))
        state.ordinal = 1
        loadKeyframes()
    }

    /// The screen at `micros` since the session start (nil before the server's ServerInit).
    public func screen(at micros: UInt64) throws(RenderError) -> RFBFramebuffer? {
        // The first moment is decoded from the session start; later ones go on from the previous
        // moment unless a keyframe (or going back) says otherwise.
        lastStartMicros = momentsAsked == 0 ? 0 : nil
        momentsAsked += 1
        // The last keyframe at or before the moment; keyframes are in file and time order.
        var best = keyframes.lastIndex { $0.reachedMicros <= micros }
        if micros < state.reachedMicros || best.map({ keyframes[$0].ordinal > state.ordinal }) ?? false {
            while let index = best, !resume(from: keyframes[index]) {
                keyframes.remove(at: index)
                keyframesChanged = true
                best = keyframes.lastIndex { $0.reachedMicros <= micros }
            }
            if best == nil { try restart() }
        }
        try advance(to: micros)
        return drawsCursor ? state.decoder.framebufferWithCursor : state.decoder.framebuffer
    }

    /// The screen at `micros` without going back: for a series in time order.
    public var currentScreen: RFBFramebuffer? {
        drawsCursor ? state.decoder.framebufferWithCursor : state.decoder.framebuffer
    }

    private func restart() throws(RenderError) {
        do {
            try records.rewind()
            pending = nil
            state = State(bytes: FrameBytes(open))
            lastStartMicros = 0
        } catch {
            throw RenderError("\(error)")
        }
    }

    /// Applies every entry up to `micros`; the first later one is kept for the next call.
    private func advance(to micros: UInt64) throws(RenderError) {
        while !state.atEnd {
            let entry: SessionRecords.Entry
            if let held = pending {
                entry = held
                pending = nil
            } else {
                do {
                    guard let read = try records.next() else {
                        // The end of the file is where a truncation is found.
                        noteDamage(atEnd: true)
                        finishDecoding(at: state.reachedMicros)
                        endMicros = state.reachedMicros
                        state.atEnd = true
                        return
                    }
                    entry = read
                } catch {
                    throw RenderError("\(error)")
                }
                noteDamage()
            }
            let time = placedTime(of: entry)
            if time > micros {
                pending = entry
                return
            }
            apply(entry, at: time)
        }
    }

    static func time(of entry: SessionRecords.Entry) -> UInt64 {
        switch entry {
        case .record(let record, _): record.timeMicros
        case .lost(let loss): loss.firstTimeMicros
        }
    }

    /// Whether `time` (µs since the session start) can be put on a clock (docs/record-format.md
    /// §4.3.1 "Range"): the session's start plus it is at most the year 9999.
    static func isPlaceable(_ time: UInt64, start: Int64) -> Bool {
        RecordTime.wall(start: RecordTime.clampedStart(start), time: time) != nil
    }

    /// The time `entry` is placed at: its own, or, out of range, the time reached so far (the
    /// previous record's), noted once with where the record is.
    private func placedTime(of entry: SessionRecords.Entry) -> UInt64 {
        let time = Self.time(of: entry)
        guard !Self.isPlaceable(time, start: open.startWallMicros) else { return time }
        let place: String
        switch entry {
        case .record(_, .block(let offset, let index)): place = " (block at byte \(offset), record \(index))"
        case .record(_, .legacy(let line)): place = " (record \(line + 1) of the legacy file)"
        case .lost: place = ""
        }
        recordingDamaged = true
        note(
            state.reachedMicros,
            "a record's time (\(time) µs since the session start) is out of range\(place): taken as the time "
                + "of the record before it")
        return state.reachedMicros
    }

    private func apply(_ entry: SessionRecords.Entry, at time: UInt64) {
        state.reachedMicros = max(state.reachedMicros, time)
        switch entry {
        case .lost(let loss):
            let lost = loss.targetToClient
            if lost.frames > 0, !state.frozen {
                state.frozen = true
                note(time, "the recording lost \(lost.frames) frames (\(lost.bytes) bytes) the target sent: "
                    + "the screen is not drawn past this point")
            } else if loss.clientToTarget.frames > 0 {
                note(time, "the recording lost \(loss.clientToTarget.frames) frames the client sent "
                    + "(a pixel format change in them would be missed)")
            }
        case .record(let record, let position):
            recordsDecoded += 1
            state.ordinal += 1
            switch record.body {
            case .frame(let frame):
                feed(frame, time: time)
                keepKeyframe(after: position)
            case .close:
                finishDecoding(at: time)
            case .open, .marker:
                break
            }
        }
    }

    private func feed(_ frame: Frame, time: UInt64) {
        if !frame.opcode.isControl { state.midMessage[Int(frame.direction.rawValue)] = !frame.isFinal }
        let bytes = state.bytes.bytes(of: frame)
        guard !bytes.isEmpty || frame.isRedacted else { return }
        let direction: RFBDirection = frame.direction == .clientToTarget ? .clientToServer : .serverToClient
        guard direction == .clientToServer || !state.frozen else { return }
        let problems: [RFBDecodeProblem]
        if frame.isRedacted {
            // The filler is not what was sent, but it stands for as many bytes (unknown in a base64
            // session): the decoder passes over a redacted authentication response or pixel data
            // and stops that direction at anything else (a problem noted), as `dump --rfb` does.
            problems = state.decoder.feedRedacted(
                direction, count: state.bytes.base64 ? nil : frame.payload.count, time: Double(time) / 1e6)
        } else {
            problems = state.decoder.feed(direction, bytes, time: Double(time) / 1e6)
        }
        for problem in problems { note(time, problem) }
    }

    private func finishDecoding(at time: UInt64) {
        guard !state.finished else { return }
        state.finished = true
        for problem in state.decoder.finish(time: Double(time) / 1e6) { note(time, problem) }
    }

    private func note(_ time: UInt64, _ problem: RFBDecodeProblem) {
        var problem = problem
        problem.time = nil  // the note carries the time
        note(time, problem.description)
    }

    /// Notes a thing once (decoding again after going back finds the same problems).
    func note(_ time: UInt64?, _ text: String) {
        let note = RenderNote(timeMicros: time, text)
        guard noted.insert(note.description).inserted else { return }
        notes.append(note)
    }

    /// Notes damage found since the last call; at the end of the file (a truncation) with the
    /// session time reached: where the readable part of the session stops.
    private func noteDamage(atEnd: Bool = false) {
        let damages = records.damages
        while damagesNoted < damages.count {
            note(atEnd ? state.reachedMicros : nil, "damaged recording: \(damages[damagesNoted]); the readable records are used")
            damagesNoted += 1
            recordingDamaged = true
        }
    }
}
