import RFB
import RFBDecoding
import RecordFormat

/// Everything the viewer shows of one session, built as its records arrive (the whole file at
/// once, or block by block with `--follow`): metadata, the frames for the bandwidth lanes, the
/// server's byte stream (played to noVNC as recorded), the decoded RFB messages, key and pointer
/// activity, and — from the session's screen decoded as it goes — keyframes and repaints from which
/// a stream noVNC can start at any moment is made (``ViewerStreamWriter``).
///
/// Not thread-safe: ``ViewerRecording`` holds it under its lock.
final class ViewerSession {
    let number: UInt32
    private(set) var open: SessionOpen?
    private(set) var close: SessionClose?
    private(set) var firstTimeMicros: UInt64?
    private(set) var lastTimeMicros: UInt64 = 0

    /// A data frame's size and time, for the bandwidth lanes.
    struct FrameMark {
        var timeMicros: UInt64
        var direction: Direction
        var payloadLength: Int
    }
    private(set) var frames: [FrameMark] = []

    /// A piece of the server's byte stream as one record brought it, and what the screen needed
    /// repainting after it (nil when it completed no FramebufferUpdate or no screen exists yet).
    struct ServerChunk {
        var timeMicros: UInt64
        var offset: Int
        var length: Int
        var repaint: Repaint?
    }

    /// The screen's change after a chunk: a new size, then Raw rectangles (RGBX pixels kept deflated).
    struct Repaint {
        var resize: (width: Int, height: Int)?
        var rectangles: [(x: Int, y: Int, width: Int, height: Int)]
        var pixels: PixelStore
    }

    /// The whole screen after a chunk, every ``keyframeIntervalMicros`` of session time.
    struct Keyframe {
        var chunkIndex: Int
        var timeMicros: UInt64
        var width: Int
        var height: Int
        var pixels: PixelStore
    }

    /// A decoded RFB message (or a point where a direction could not be followed).
    struct Message {
        var timeMicros: UInt64
        var event: RFBParseEvent
        var length: UInt64
    }

    struct KeyActivity {
        var timeMicros: UInt64
        var down: Bool
        var keysym: RFBKeysym
    }

    struct PointerActivity {
        var timeMicros: UInt64
        var x: UInt16
        var y: UInt16
        var buttons: UInt16
    }

    struct Marker {
        var timeMicros: UInt64
        var text: String
    }

    private(set) var serverStream: [UInt8] = []
    private(set) var clientStream: [UInt8] = []
    private(set) var serverChunks: [ServerChunk] = []
    private(set) var keyframes: [Keyframe] = []
    private(set) var messages: [Message] = []
    private(set) var keys: [KeyActivity] = []
    private(set) var pointer: [PointerActivity] = []
    private(set) var markers: [Marker] = []
    private(set) var losses: [RecordGap.SessionLoss] = []
    private(set) var decodeProblems: [RFBDecodeProblem] = []

    /// ServerInit: the screen's first size and the desktop's name.
    private(set) var serverInit: (width: Int, height: Int, name: String, endOffset: Int, timeMicros: UInt64)?
    /// Pixel formats the server's updates were sent in (ServerInit's until the first SetPixelFormat).
    private(set) var updateFormats: Set<RFBPixelFormat> = []
    /// Encodings (and pseudo-encodings) of every rectangle the server sent.
    private(set) var encodingsUsed: Set<Int32> = []
    /// Where the screen stopped being decoded (a gap lost server bytes), in session time.
    private(set) var screenStoppedMicros: UInt64?

    /// Whether more records may come (the file is followed and this session has not closed).
    var growing: Bool { close == nil && fileGrowing }
    /// Set by ``ViewerRecording``: false once the whole file was read (and is not followed).
    var fileGrowing = true

    /// Session time between two keyframes.
    let keyframeIntervalMicros: UInt64

    private var frameBytes = FrameBytes(base64: false)
    private var parser = RFBSessionParser()
    private let decoder = RFBFramebufferDecoder()
    private var pixelFormatSet = false
    private var screenFollowed = true

    init(number: UInt32, keyframeIntervalMicros: UInt64 = 5_000_000) {
        self.number = number
        self.keyframeIntervalMicros = keyframeIntervalMicros
    }

    var durationMicros: UInt64 { lastTimeMicros - (firstTimeMicros ?? lastTimeMicros) }

    /// The current screen (nil before ServerInit).
    var framebuffer: RFBFramebuffer? { decoder.framebuffer }

    func apply(_ record: Record) {
        if firstTimeMicros == nil { firstTimeMicros = record.timeMicros }
        lastTimeMicros = max(lastTimeMicros, record.timeMicros)
        switch record.body {
        case .open(let open):
            self.open = open
            frameBytes = FrameBytes(open)
        case .close(let close):
            self.close = close
            take(parser.finish(), time: record.timeMicros, streamEnd: nil)
            decodeProblems += decoder.finish(time: Double(record.timeMicros) / 1e6)
        case .marker(let text):
            markers.append(Marker(timeMicros: record.timeMicros, text: text))
        case .frame(let frame):
            frames.append(FrameMark(timeMicros: record.timeMicros, direction: frame.direction, payloadLength: frame.payload.count))
            if frame.isRedacted {
                let direction: RFBDirection = frame.direction == .clientToTarget ? .clientToServer : .serverToClient
                let count = frameBytes.base64 ? nil : frame.payload.count
                take(parser.feedRedacted(direction, count: count), time: record.timeMicros, streamEnd: nil)
                if direction == .serverToClient {
                    stopScreen(at: record.timeMicros, "a redacted server frame")
                } else if screenFollowed {
                    // A redacted VNC authentication response: the screen's decoder must pass over it
                    // too, or it reads every later message from the wrong place (a black screen).
                    decodeProblems += decoder.feedRedacted(direction, count: count, time: Double(record.timeMicros) / 1e6)
                }
                return
            }
            let bytes = frameBytes.bytes(of: frame)
            guard !bytes.isEmpty else { return }
            feed(frame.direction, bytes, time: record.timeMicros)
        }
    }

    /// A gap block's loss for this session: directions that lost frames are not followed past it.
    func apply(_ loss: RecordGap.SessionLoss, causes: RecordGap.Causes) {
        losses.append(loss)
        for direction in Direction.allCases where loss.totals(direction).frames > 0 {
            let lost = loss.totals(direction)
            let rfbDirection: RFBDirection = direction == .clientToTarget ? .clientToServer : .serverToClient
            take(parser.markLost(rfbDirection,
                                 "the recording lost \(lost.frames) frames (\(lost.bytes) bytes) here (\(causes.text))"),
                 time: loss.firstTimeMicros, streamEnd: nil)
            if direction == .targetToClient { stopScreen(at: loss.firstTimeMicros, "the recording lost server frames") }
        }
    }

    private func stopScreen(at time: UInt64, _ why: String) {
        guard screenFollowed else { return }
        screenFollowed = false
        screenStoppedMicros = time
        decodeProblems.append(RFBDecodeProblem(kind: .stopped, offset: UInt64(serverStream.count),
                                               time: Double(time) / 1e6, detail: why))
    }

    private func feed(_ direction: Direction, _ bytes: [UInt8], time: UInt64) {
        let rfbDirection: RFBDirection = direction == .clientToTarget ? .clientToServer : .serverToClient
        if direction == .clientToTarget {
            clientStream += bytes
        } else {
            serverChunks.append(ServerChunk(timeMicros: time, offset: serverStream.count, length: bytes.count))
            serverStream += bytes
        }
        let events = parser.feed(rfbDirection, bytes)
        let sizeBefore = decoder.framebuffer.map { ($0.width, $0.height) }
        if screenFollowed {
            decodeProblems += decoder.feed(rfbDirection, bytes, time: Double(time) / 1e6)
        }
        var painted: [RFBRectangle] = []
        for event in events {
            guard case .message(let parsed) = event, case .framebufferUpdate(let update) = parsed.message else { continue }
            painted += update.rectangles
        }
        take(events, time: time, streamEnd: serverStream.count)
        if direction == .targetToClient, screenFollowed { repaint(after: painted, sizeBefore: sizeBefore, time: time) }
    }

    /// Keeps what the chunk changed on the screen (and a keyframe when one is due).
    private func repaint(after rectangles: [RFBRectangle], sizeBefore: (Int, Int)?, time: UInt64) {
        guard let screen = decoder.framebuffer, !serverChunks.isEmpty else { return }
        let index = serverChunks.count - 1
        let resized = sizeBefore.map { $0 != (screen.width, screen.height) } ?? false
        var areas: [(x: Int, y: Int, width: Int, height: Int)] = []
        if resized {
            areas = [(0, 0, screen.width, screen.height)]
        } else {
            for r in rectangles where !r.encoding.isPseudo {
                let x0 = max(Int(r.x), 0)
                let y0 = max(Int(r.y), 0)
                let x1 = min(Int(r.x) + Int(r.width), screen.width)
                let y1 = min(Int(r.y) + Int(r.height), screen.height)
                if x0 < x1, y0 < y1 { areas.append((x0, y0, x1 - x0, y1 - y0)) }
            }
            areas = Self.coalesced(areas)
        }
        if !areas.isEmpty || resized {
            var pixels: [UInt8] = []
            for area in areas {
                pixels += ViewerStreamWriter.pixels(of: screen, x: area.x, y: area.y, width: area.width, height: area.height)
            }
            serverChunks[index].repaint = Repaint(
                resize: resized ? (screen.width, screen.height) : nil, rectangles: areas, pixels: PixelStore(pixels))
        }
        let due = keyframes.last.map { time >= $0.timeMicros.plusSaturating(keyframeIntervalMicros) } ?? true
        if due, keyframes.isEmpty || !areas.isEmpty {
            keyframes.append(Keyframe(
                chunkIndex: index, timeMicros: time, width: screen.width, height: screen.height,
                pixels: PixelStore(ViewerStreamWriter.pixels(of: screen, x: 0, y: 0, width: screen.width, height: screen.height))))
        }
    }

    /// Many small rectangles that cover most of their bounding box are sent as that box (fewer
    /// headers, and the pixels are the same).
    static func coalesced(_ areas: [(x: Int, y: Int, width: Int, height: Int)]) -> [(x: Int, y: Int, width: Int, height: Int)] {
        guard areas.count > 1 else { return areas }
        let x0 = areas.map(\.x).min()!
        let y0 = areas.map(\.y).min()!
        let x1 = areas.map { $0.x + $0.width }.max()!
        let y1 = areas.map { $0.y + $0.height }.max()!
        let covered = areas.reduce(0) { $0 + $1.width * $1.height }
        let box = (x1 - x0) * (y1 - y0)
        return covered * 4 >= box * 3 || areas.count > 256 ? [(x0, y0, x1 - x0, y1 - y0)] : areas
    }

    private func take(_ events: [RFBParseEvent], time: UInt64, streamEnd: Int?) {
        for event in events {
            var length: UInt64 = 0
            if case .message(let parsed) = event {
                length = parsed.length
                note(parsed, time: time)
            }
            messages.append(Message(timeMicros: time, event: event, length: length))
        }
    }

    private func note(_ parsed: RFBParsedMessage, time: UInt64) {
        switch parsed.message {
        case .serverInit(let width, let height, let format, let name):
            serverInit = (Int(width), Int(height), name, Int(parsed.offset + parsed.length), time)
            if !pixelFormatSet { currentFormat = format }
        case .setPixelFormat(let format):
            pixelFormatSet = true
            currentFormat = format
        case .framebufferUpdate(let update):
            if let currentFormat { updateFormats.insert(currentFormat) }
            for rectangle in update.rectangles { encodingsUsed.insert(rectangle.encoding.rawValue) }
        case .keyEvent(let down, let keysym), .qemuExtendedKeyEvent(let down, let keysym, _):
            keys.append(KeyActivity(timeMicros: time, down: down, keysym: keysym))
        case .pointerEvent(let buttons, let x, let y, _):
            pointer.append(PointerActivity(timeMicros: time, x: x, y: y, buttons: buttons))
        default:
            break
        }
    }

    private var currentFormat: RFBPixelFormat?
}
