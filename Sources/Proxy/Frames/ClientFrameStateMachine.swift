import NIOCore
import WebSocketWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The payload encoding negotiated with the client (the `Sec-WebSocket-Protocol`).
public enum PayloadMode: String, Sendable, Equatable, CaseIterable {
    /// Binary frames carry target bytes as they are (`binary`, or no subprotocol at all).
    case binary
    /// Text frames carry target bytes in base64 (`base64`).
    case base64
}

/// Parses and validates the frames a WebSocket client sends (RFC 6455 §5), with no I/O.
///
/// Feed it the bytes read from the client with ``next(_:)``; each call completes at most one frame
/// and returns what the handler must do. Every "fail the WebSocket connection" case of the RFC maps
/// to ``Action/fail(code:reason:)``, decided from the frame header before any payload is buffered,
/// so a declared 1 TiB length is refused without allocating.
///
/// Text is checked for UTF-8 as its bytes are unmasked, so an invalid byte fails the connection
/// with 1007 as soon as it arrives, even in the middle of a frame (RFC 6455 §8.1); a character cut
/// between frames or reads is fine. In binary mode a text frame is then relayed like a binary one,
/// as it completes; only base64 mode keeps a text message until its last frame, to decode it whole.
///
/// The machine takes every byte it is given: a payload is unmasked straight from the read buffer
/// into a buffer of the frame's own (one pass over each byte, whatever the read sizes), and the
/// start of a header cut off by the end of a read is kept here. So when ``next(_:)`` says
/// ``Action/needMoreData``, the buffer is empty and the caller never has to cumulate reads.
///
/// With permessage-deflate agreed (RFC 7692), RSV1 on the first frame of a data message marks it
/// compressed: each of its frames is inflated when complete (``PerMessageInflater``, bounded by
/// ``maxMessageSize``: 1009 past it) and what the actions carry is the inflated payload; a text
/// message's UTF-8 is checked on the inflated bytes. RSV1 on a continuation or control frame, or
/// without the extension, fails with 1002.
public struct ClientFrameStateMachine {
    /// What the handler must do next.
    public enum Action: Equatable {
        /// Not a whole frame yet: read more bytes.
        case needMoreData
        /// A data frame arrived (already unmasked). `forward` is what goes to the target now, if
        /// anything: text messages in base64 mode are forwarded, decoded, when their last frame arrives;
        /// every other data frame (text in binary mode too, its UTF-8 already checked) goes as it is.
        case data(opcode: Opcode, isFinal: Bool, payload: ByteBuffer, forward: ByteBuffer?)
        /// A ping arrived: answer with a pong carrying `payload` (RFC 6455 §5.5.2).
        case ping(payload: ByteBuffer)
        /// A pong arrived; nothing to answer.
        case pong(payload: ByteBuffer)
        /// The client started the closing handshake; echo `code` (nil: echo an empty close) and close.
        case close(code: UInt16?, reason: String, payload: ByteBuffer)
        /// Fail the connection: send a close frame with `code` and close TCP (RFC 6455 §7.1.7).
        case fail(code: UInt16, reason: String)
    }

    private enum State {
        /// Between frames (``headerStart`` may hold the first bytes of the next header).
        case header
        /// A header was parsed; its unmasked payload is collected in ``payload`` until it has
        /// `length` bytes.
        case payload(FrameHeader)
        /// A close was received or the connection failed: nothing more is parsed.
        case closed
    }

    /// RSV1 in ``FrameHeader/rsv``: the message is compressed (permessage-deflate).
    static let rsv1: UInt8 = 0x4
    /// The longest frame header: 2 bytes, a 64-bit length and the masking key.
    static let maximumHeaderLength = FrameHeader.maximumSize
    /// Payload capacity reserved when a header arrives; longer payloads grow the buffer as their
    /// bytes come, so a header alone (up to ``maxMessageSize``) never reserves much.
    static let initialPayloadCapacity = 1 << 20

    /// The largest message (all fragments together) accepted; larger ones fail with 1009.
    public let maxMessageSize: Int
    /// How target bytes are carried; decides whether text frames are decoded from base64.
    public let mode: PayloadMode
    private let allocator: ByteBufferAllocator
    private var state: State = .header
    /// The opcode of the data message in progress (text or binary), nil between messages.
    private var messageOpcode: Opcode?
    /// Bytes of the data message in progress so far.
    private var messageLength = 0
    /// Checks the UTF-8 of the text message in progress across its frames (RFC 6455 §8.1).
    private var utf8 = UTF8Validator()
    /// Base64 mode: the fragments of a text message, collected until its last frame to be decoded.
    /// Kept uniquely referenced while appending, so each byte is copied once.
    private var textMessage: ByteBuffer?
    /// The first bytes of a header that the end of a read cut off (nil between such cuts).
    private var headerStart: ByteBuffer?
    /// Inflates compressed messages; nil without permessage-deflate.
    private let inflater: PerMessageInflater?
    /// The data message in progress is compressed (its first frame had RSV1).
    private var messageCompressed = false
    /// Bytes of the compressed message in progress once inflated, so far.
    private var messageInflatedLength = 0
    /// The unmasked payload of the frame in progress (in state `.payload`).
    private var payload: ByteBuffer?

    /// - Parameter deflate: the permessage-deflate agreed in the handshake; nil: none.
    public init(
        maxMessageSize: Int, mode: PayloadMode, allocator: ByteBufferAllocator = ByteBufferAllocator(),
        deflate: PerMessageDeflate? = nil
    ) {
        self.maxMessageSize = maxMessageSize
        self.mode = mode
        self.allocator = allocator
        self.inflater = deflate.map { PerMessageInflater(resetAfterEachMessage: $0.clientNoContextTakeover) }
    }

    /// Counts compressed messages' sizes into `meter` (permessage-deflate only).
    func countCompression(into meter: CompressionMeter) {
        inflater?.meter = meter
    }

    /// True once a close frame was received or the connection failed.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// Consumes bytes from `buffer` up to the end of the next complete frame and says what to do.
    /// Returns ``Action/needMoreData`` only once all of `buffer` is taken.
    public mutating func next(_ buffer: inout ByteBuffer) -> Action {
        switch state {
        case .closed:
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        case .header:
            guard let header = takeHeader(&buffer) else { return .needMoreData }
            switch header {
            case .failure(let failure):
                return fail(failure.code, failure.reason)
            case .success(let header):
                if let failure = validate(header) {
                    return fail(failure.code, failure.reason)
                }
                state = .payload(header)
                if header.opcode == .text { utf8 = UTF8Validator() }
                payload = allocator.buffer(capacity: min(header.payloadLength, Self.initialPayloadCapacity))
                return next(&buffer)
            }
        case .payload(let header):
            // Validation ensured a key; keep `payload` uniquely referenced while writing into it.
            guard let key = header.maskKey, var collected = payload.take() else { return .needMoreData }
            let start = collected.readableBytes
            let count = min(header.payloadLength - start, buffer.readableBytes)
            buffer.readUnmaskedBytes(count, key: key, offset: start, into: &collected)
            if isText(header), !isCompressed(header), let bad = checkUTF8(collected, from: start) {
                return fail(CloseCode.invalidPayload, "invalid UTF-8 at byte \(messageLength + bad) of a text message")
            }
            guard collected.readableBytes == header.payloadLength else {
                payload = collected
                return .needMoreData
            }
            state = .header
            return frameComplete(header, collected)
        }
    }

    /// True for the frames of a compressed message: its first frame (RSV1) and its continuations.
    private func isCompressed(_ header: FrameHeader) -> Bool {
        header.rsv & Self.rsv1 != 0 || (header.opcode == .continuation && messageCompressed)
    }

    /// True for the frames of a text message: its first frame and its continuations.
    private func isText(_ header: FrameHeader) -> Bool {
        header.opcode == .text || (header.opcode == .continuation && messageOpcode == .text)
    }

    /// Checks the readable bytes of `frame` from offset `start` on as the next bytes of the text
    /// message; returns the offset in the frame of the first invalid byte, or nil.
    private mutating func checkUTF8(_ frame: ByteBuffer, from start: Int) -> Int? {
        frame.withUnsafeReadableBytes { bytes in
            utf8.validate(UnsafeRawBufferPointer(rebasing: bytes[start...])).map { start + $0 }
        }
    }

    /// Takes a whole header from the front of `buffer` (after any start of it kept from an earlier
    /// read); when the header is still incomplete, keeps all of `buffer` for later and returns nil.
    private mutating func takeHeader(_ buffer: inout ByteBuffer) -> Result<FrameHeader, Failure>? {
        guard var combined = headerStart.take() else {
            if let header = Self.parseHeader(&buffer) { return header }
            if buffer.readableBytes > 0 {
                // A copy: a slice would keep the whole read buffer alive for a few bytes.
                var start = allocator.buffer(capacity: Self.maximumHeaderLength)
                start.writeBuffer(&buffer)
                headerStart = start
            }
            return nil
        }
        // At most one header's worth: what the header doesn't use goes back to `buffer`.
        let taken = min(Self.maximumHeaderLength - combined.readableBytes, buffer.readableBytes)
        var piece = buffer.readSlice(length: taken)!
        combined.writeBuffer(&piece)
        guard let header = Self.parseHeader(&combined) else {
            headerStart = combined
            return nil
        }
        buffer.moveReaderIndex(to: buffer.readerIndex - combined.readableBytes)
        return header
    }

    private struct Failure: Error {
        var code: UInt16
        var reason: String
    }

    private mutating func fail(_ code: UInt16, _ reason: String) -> Action {
        state = .closed
        textMessage = nil
        headerStart = nil
        payload = nil
        return .fail(code: code, reason: reason)
    }

    /// Reads a frame header if all of it is there; leaves `buffer` untouched otherwise.
    private static func parseHeader(_ buffer: inout ByteBuffer) -> Result<FrameHeader, Failure>? {
        switch buffer.withUnsafeReadableBytes({ FrameHeader.parse($0) }) {
        case .incomplete:
            return nil
        case .invalidLength(let size):
            buffer.moveReaderIndex(forwardBy: size)
            return .failure(Failure(code: CloseCode.protocolError, reason: "64-bit length with top bit set"))
        case .header(let header, let size):
            buffer.moveReaderIndex(forwardBy: size)
            return .success(header)
        }
    }

    /// The header-level checks of RFC 6455 §5.1–§5.5, in the order a reader meets them.
    private mutating func validate(_ header: FrameHeader) -> Failure? {
        if header.maskKey == nil {
            return Failure(code: CloseCode.protocolError, reason: "client frame not masked")
        }
        if header.rsv & ~Self.rsv1 != 0 {
            return Failure(code: CloseCode.protocolError, reason: "reserved bits set without an extension")
        }
        if header.rsv & Self.rsv1 != 0 {
            if inflater == nil {
                return Failure(code: CloseCode.protocolError, reason: "RSV1 set without permessage-deflate")
            }
            if header.opcode != .text && header.opcode != .binary {
                return Failure(
                    code: CloseCode.protocolError, reason: "RSV1 set on a \(Self.describe(header.opcode)) frame")
            }
        }
        switch header.opcode {
        case .close, .ping, .pong:
            if !header.fin {
                return Failure(code: CloseCode.protocolError, reason: "fragmented control frame")
            }
            if header.payloadLength > 125 {
                return Failure(code: CloseCode.protocolError, reason: "control frame over 125 bytes")
            }
            if header.opcode == .close && header.payloadLength == 1 {
                return Failure(code: CloseCode.protocolError, reason: "close frame with 1-byte payload")
            }
        case .continuation:
            guard messageOpcode != nil else {
                return Failure(code: CloseCode.protocolError, reason: "continuation frame without a message")
            }
            if header.payloadLength > maxMessageSize - messageLength {
                return Failure(code: CloseCode.messageTooBig, reason: "message over \(maxMessageSize) bytes")
            }
        case .text, .binary:
            if messageOpcode != nil {
                return Failure(code: CloseCode.protocolError, reason: "new message inside a fragmented one")
            }
            if header.payloadLength > maxMessageSize {
                return Failure(code: CloseCode.messageTooBig, reason: "message over \(maxMessageSize) bytes")
            }
        default:
            return Failure(code: CloseCode.protocolError, reason: "reserved opcode \(header.opcode.rawValue)")
        }
        return nil
    }

    private static func describe(_ opcode: Opcode) -> String {
        switch opcode {
        case .continuation: "continuation"
        case .close: "close"
        case .ping: "ping"
        case .pong: "pong"
        default: "opcode \(opcode.rawValue)"
        }
    }

    /// Inflates a frame of a compressed message; a failure fails the connection (1009 past the
    /// message limit, 1007 for data that is not deflate or not UTF-8 in a text message).
    private mutating func inflate(_ header: FrameHeader, _ payload: ByteBuffer, text: Bool) -> Result<ByteBuffer, Failure> {
        guard let inflater else { preconditionFailure("compressed frames pass validation only with an inflater") }
        switch inflater.inflate(
            payload, isFinal: header.fin, limit: maxMessageSize - messageInflatedLength, allocator: allocator)
        {
        case .failure(.tooBig):
            return .failure(Failure(code: CloseCode.messageTooBig, reason: "message over \(maxMessageSize) bytes once inflated"))
        case .failure(.corrupt(let why)):
            return .failure(Failure(code: CloseCode.invalidPayload, reason: "compressed message: \(why)"))
        case .success(let inflated):
            if text, let bad = checkUTF8(inflated, from: 0) {
                return .failure(
                    Failure(
                        code: CloseCode.invalidPayload,
                        reason: "invalid UTF-8 at byte \(messageInflatedLength + bad) of a text message"))
            }
            messageInflatedLength = header.fin ? 0 : messageInflatedLength + inflated.readableBytes
            return .success(inflated)
        }
    }

    private mutating func frameComplete(_ header: FrameHeader, _ wirePayload: ByteBuffer) -> Action {
        var payload = wirePayload
        switch header.opcode {
        case .ping:
            return .ping(payload: payload)
        case .pong:
            return .pong(payload: payload)
        case .close:
            return closeReceived(payload)
        default:
            let opcode = header.opcode == .continuation ? messageOpcode! : header.opcode
            let compressed = isCompressed(header)
            if header.fin {
                messageOpcode = nil
                messageLength = 0
            } else {
                messageOpcode = opcode
                messageLength += header.payloadLength
            }
            messageCompressed = compressed && !header.fin
            if compressed {
                switch inflate(header, payload, text: opcode == .text) {
                case .success(let inflated): payload = inflated
                case .failure(let failure): return fail(failure.code, failure.reason)
                }
            }
            // A text message's bytes were checked as they came; only its end is left to check.
            if opcode == .text, header.fin, !utf8.isAtBoundary {
                return fail(CloseCode.invalidPayload, "text message ends inside a UTF-8 character")
            }
            guard opcode == .text, mode == .base64 else {
                return .data(opcode: header.opcode, isFinal: header.fin, payload: payload, forward: payload)
            }
            // Base64 is decoded once the whole message is there.
            guard var text = textMessage.take() else {
                if header.fin { return base64MessageComplete(payload, header.opcode, lastFrame: payload) }
                // The first fragment, copied into a buffer of the message's own that can grow.
                var text = allocator.buffer(capacity: payload.readableBytes)
                text.writeImmutableBuffer(payload)
                textMessage = text
                return .data(opcode: header.opcode, isFinal: false, payload: payload, forward: nil)
            }
            // `take()` left `text` the only reference to its storage: appending copies just `payload`.
            text.writeImmutableBuffer(payload)
            guard header.fin else {
                textMessage = text
                return .data(opcode: header.opcode, isFinal: false, payload: payload, forward: nil)
            }
            return base64MessageComplete(text, header.opcode, lastFrame: payload)
        }
    }

    /// A base64 text message is complete: what goes to the target is `text` decoded. Its UTF-8 was
    /// checked as it arrived.
    private mutating func base64MessageComplete(
        _ text: ByteBuffer, _ opcode: Opcode, lastFrame payload: ByteBuffer
    ) -> Action {
        guard let string = text.getString(at: text.readerIndex, length: text.readableBytes),
            let decoded = Self.decodeBase64(string)
        else {
            return fail(CloseCode.invalidPayload, "invalid base64 in text message")
        }
        var bytes = allocator.buffer(capacity: decoded.count)
        bytes.writeBytes(decoded)
        return .data(opcode: opcode, isFinal: true, payload: payload, forward: bytes)
    }

    private mutating func closeReceived(_ payload: ByteBuffer) -> Action {
        state = .closed
        textMessage = nil
        var view = payload
        guard let code = view.readInteger(as: UInt16.self) else {
            return .close(code: nil, reason: "", payload: payload)
        }
        guard CloseCode.isValidOnWire(code) else {
            return .fail(code: CloseCode.protocolError, reason: "invalid close code \(code)")
        }
        guard let reason = Self.validUTF8(view) else {
            return .fail(code: CloseCode.invalidPayload, reason: "invalid UTF-8 in close reason")
        }
        return .close(code: code, reason: reason, payload: payload)
    }

    /// The readable bytes as a string, or nil when they are not valid UTF-8 (`readString` would
    /// silently repair them).
    static func validUTF8(_ buffer: ByteBuffer) -> String? {
        buffer.withUnsafeReadableBytes { String(validating: $0, as: UTF8.self) }
    }

    /// Decodes base64, skipping ASCII whitespace (line-oriented clients end messages with newlines,
    /// which websockify's decoder also ignores).
    private static func decodeBase64(_ string: String) -> [UInt8]? {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        let compact =
            string.utf8.contains(where: isSpace)
            ? String(decoding: string.utf8.filter { !isSpace($0) }, as: UTF8.self) : string
        guard let data = Data(base64Encoded: compact) else { return nil }
        return [UInt8](data)
    }
}
