import Foundation
import NIOCore
import RFB
import RecordFormat
import WebSocketWire

/// What `--record-redact` keeps out of recordings.
public struct RecordingRedaction: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// The client's VNC authentication response (RFC 6143 §7.2.2).
    public static let auth = RecordingRedaction(rawValue: 1)
    /// RFB KeyEvent messages: what was typed (RFC 6143 §7.5.4).
    public static let keys = RecordingRedaction(rawValue: 2)
}

/// Records one session into a ``BackgroundRecorder``: cheap on the event loop (a queue push per
/// frame; the payload buffer itself is queued, not copied, unless redaction must look into it),
/// with the file work on the recorder's thread.
///
/// With redaction on, the client's bytes are followed as RFB so that frames carrying a VNC
/// authentication response or a KeyEvent — even partly — are stored as same-length filler
/// flagged as redacted. If the RFB stream cannot be followed (an unknown security type or
/// message), every later client data frame is redacted: when in doubt, leave it out.
final class RecordingTap: SessionTap {
    private let recorder: BackgroundRecorder
    private let redaction: RecordingRedaction
    private let clock: any RecordClock
    /// Names the recording instance in each session's identity (format 1.4, open tag 10).
    private let instance: String
    private var session: UInt32 = 0
    private var startNanos: UInt64 = 0
    private var rfb = RFBClientStreamParser()
    /// Whether frames carry the TCP bytes as base64 text (the `base64` subprotocol).
    private var base64 = false
    /// Inside a fragmented client text message (base64 sessions).
    private var inTextMessage = false
    /// Set once client bytes could not be attributed: every later client frame is redacted.
    private var lostSync = false

    init(
        recorder: BackgroundRecorder, redaction: RecordingRedaction, instance: String = "",
        clock: any RecordClock = SystemRecordClock()
    ) {
        self.recorder = recorder
        self.redaction = redaction
        self.instance = instance
        self.clock = clock
    }

    private var now: UInt64 { (clock.monotonicNanos() &- startNanos) / 1000 }

    func opened(_ open: SessionOpen) {
        base64 = open.subprotocol == "base64"
        session = recorder.allocateSession()
        startNanos = clock.monotonicNanos()
        var open = open
        if open.identity == nil { open.identity = SessionIdentity.random(instance: instance) }
        recorder.submit(Record(session: session, timeMicros: 0, body: .open(open)))
    }

    func frame(_ direction: Direction, opcode: Opcode, isFinal: Bool, payload: ByteBuffer) {
        guard session != 0 else { return }
        let time = now
        if redaction.isEmpty, let queued = QueuedPayload(payload) {
            recorder.submit(
                FrameRecord(
                    session: session, timeMicros: time, direction: direction, opcode: opcode, isFinal: isFinal,
                    payload: queued),
                retainedBytes: queued.retainedBytes)
            return
        }
        var frame = Frame(
            direction: direction, opcode: opcode, payload: Array(payload.readableBytesView), isFinal: isFinal)
        if !redaction.isEmpty && !opcode.isControl && mustRedact(frame) { frame = frame.redacted() }
        recorder.submit(Record(session: session, timeMicros: time, body: .frame(frame)))
    }

    func closed(_ close: SessionClose) {
        // A session whose target never connected was never opened: nothing to record.
        guard session != 0 else { return }
        recorder.submit(Record(session: session, timeMicros: now, body: .close(close)))
    }

    /// Follows the RFB stream through this frame and says whether it holds anything to redact.
    ///
    /// In `base64` sessions the proxy decodes client *text messages* (whole, after the last
    /// fragment) and passes binary frames through; the tap follows the same rules. A fragment of a
    /// text message cannot be judged before the message is complete, so it is redacted; so is
    /// anything that does not decode.
    private func mustRedact(_ frame: Frame) -> Bool {
        var bytes = frame.payload
        if base64 {
            let text = frame.opcode == .text || (frame.opcode == .continuation && inTextMessage)
            if frame.direction == .clientToTarget, frame.opcode == .text { inTextMessage = !frame.isFinal }
            if frame.direction == .clientToTarget, frame.opcode == .continuation, frame.isFinal { inTextMessage = false }
            if text {
                if frame.direction == .clientToTarget && !(frame.opcode == .text && frame.isFinal) {
                    // A fragment: judged only as part of its whole message, which is not here yet.
                    lostSync = true
                    return true
                }
                guard let decoded = Self.decodeBase64(frame.payload) else {
                    if frame.direction == .clientToTarget { lostSync = true }
                    return frame.direction == .clientToTarget
                }
                bytes = decoded
            }
        }
        if frame.direction == .targetToClient {
            _ = rfb.feedServer(bytes)
            return false
        }
        if lostSync { return true }
        let complete = rfb.feedClient(bytes)
        if case .lost = rfb.state { return true }
        let sensitive = complete.contains { isSensitive($0.message) }
        return sensitive || rfb.partial.map(isSensitive) == true
    }

    private static func decodeBase64(_ text: [UInt8]) -> [UInt8]? {
        let compact = text.filter { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        return Data(base64Encoded: Data(compact)).map { [UInt8]($0) }
    }

    private func isSensitive(_ message: RFBClientMessage) -> Bool {
        switch message {
        case .vncAuthResponse: redaction.contains(.auth)
        case .keyEvent: redaction.contains(.keys)
        default: false
        }
    }

    private func isSensitive(_ partial: RFBClientStreamParser.Partial) -> Bool {
        switch partial {
        case .vncAuthResponse: redaction.contains(.auth)
        case .message(type: 4): redaction.contains(.keys)
        default: false
        }
    }
}

/// A frame payload queued for the recorder as the buffer it came in, without a copy.
///
/// Only worth it when the payload is most of its buffer's memory: a small slice of a big buffer
/// would keep all of it alive in the queue, so such payloads are copied instead (nil).
struct QueuedPayload: RecordPayload {
    /// Payloads shorter than this are copied: cheaper than the bookkeeping they save.
    static let minimumLength = 4096
    /// The buffer's storage may be at most this many times the payload.
    static let maximumStorageRatio = 2

    let buffer: ByteBuffer

    init?(_ buffer: ByteBuffer) {
        guard buffer.readableBytes >= Self.minimumLength,
            buffer.storageCapacity <= Self.maximumStorageRatio * buffer.readableBytes
        else { return nil }
        self.buffer = buffer
    }

    /// The memory this payload keeps alive.
    var retainedBytes: Int { buffer.storageCapacity }
    var byteCount: Int { buffer.readableBytes }
    func withPayloadBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { buffer.withUnsafeReadableBytes(body) }
}

/// Recording for the proxy: one ``BackgroundRecorder`` for the process, a ``RecordingTap`` per session.
public final class SessionRecording: Sendable {
    public let recorder: BackgroundRecorder
    public let redaction: RecordingRedaction
    /// The instance name every session's identity carries (default: the host name).
    public let instance: String

    /// The file `--record=FILE` writes: FILE, with `.rec` added unless it already ends in `.rec`.
    public static func recordPath(_ file: String) -> String {
        file.hasSuffix(".rec") ? file : file + ".rec"
    }

    /// Opens (or appends to) the recording; `onEvent` hears about dropped records and write failures.
    /// A new file gets exactly the permission bits `mode` (`--record-mode`); an existing one keeps its own.
    public convenience init(
        file: String, redaction: RecordingRedaction, mode: UInt32 = 0o600,
        onEvent: @escaping @Sendable (BackgroundRecorder.Event) -> Void
    ) throws(RecordFormatError) {
        try self.init(layout: .single(path: Self.recordPath(file)), redaction: redaction, mode: mode, onEvent: onEvent)
    }

    /// Opens the recording's first file as `layout` says (a per-session recording checks its
    /// directory); `onFileClosed` hears of each file closed, complete, from the recording thread.
    public init(
        layout: RecordFileLayout, redaction: RecordingRedaction, mode: UInt32 = 0o600,
        instance: String = ProcessInfo.processInfo.hostName,
        onFileClosed: @escaping @Sendable (ClosedRecordFile) -> Void = { _ in },
        onEvent: @escaping @Sendable (BackgroundRecorder.Event) -> Void
    ) throws(RecordFormatError) {
        var configuration = BackgroundRecorder.Configuration()
        configuration.writer.fileMode = mode
        self.recorder = try BackgroundRecorder(
            layout: layout, configuration: configuration, onEvent: onEvent, onFileClosed: onFileClosed)
        self.redaction = redaction
        self.instance = instance
    }

    /// The layout of `--record FILE` rotated as `rotation` says: files `FILE-YYYYmmddTHHMMSS.rec`
    /// (FILE without its `.rec`).
    public static func rotatingLayout(_ file: String, rotation: RecordRotation) -> RecordFileLayout {
        .rotating(base: file.hasSuffix(".rec") ? String(file.dropLast(4)) : file, rotation: rotation)
    }

    /// A factory for ``ProxyConfiguration/sessionTapFactories``.
    public var tapFactory: SessionTapFactory {
        { [recorder, redaction, instance] _ in RecordingTap(recorder: recorder, redaction: redaction, instance: instance) }
    }

    /// Drains the queue and closes the file (index, fsync) on a thread of its own.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { [recorder] in
                recorder.close()
                continuation.resume()
            }
        }
    }
}
