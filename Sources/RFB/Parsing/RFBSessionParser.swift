/// Follows an RFB (VNC) session from both sides' byte streams, fed in the order they were
/// recorded, and splits each into messages with their offsets: the 3.3/3.7/3.8 handshake with
/// None or VNC authentication, every client and server message of RFC 6143 and the extensions
/// noVNC uses, and every FramebufferUpdate rectangle (pixel data is measured, not decoded).
///
/// The two sides need each other: the server's security messages depend on the client's
/// version and choice, a 3.3 client's on the server's security type, the size of every pixel on
/// the last SetPixelFormat, and extended forms on what was announced and confirmed. Feed both
/// directions to one parser, in any split: the events are the same however the bytes are cut,
/// as long as the order between the two directions is kept.
///
/// A message whose length cannot be known (an unknown type or encoding, a security type whose
/// handshake is not followed, bytes that break the protocol) stops that direction with a
/// ``RFBParseProblem`` carrying its offset; nothing is guessed. No sockets, no dependencies.
public struct RFBSessionParser: Sendable {
    /// Bytes kept of a string (desktop name, failure reason, cut text prefix) for reports.
    public static let stringLimit = 4096

    /// What the session settled so far.
    public internal(set) var state = RFBSessionState()

    var sides = [Side(), Side()]
    var clientStage = ClientStage.version
    var serverStage = ServerStage.version
    /// The FramebufferUpdate being read (kept outside ``serverStage`` so that it is mutated in place).
    var update: UpdateProgress?

    public init() {}

    /// One direction's bytes and progress.
    struct Side: Sendable {
        var queue = RFBByteQueue()
        var stopped = false
        /// A message whose bytes are all accounted for but partly still being skipped; it is
        /// reported once they have arrived.
        var pending: PendingMessage?
    }

    struct PendingMessage: Sendable {
        var start: UInt64
        var message: RFBMessage
    }

    enum ClientStage: Sendable, Equatable {
        case version, securityChoice, waitServerSecurity, authResponse, clientInit, messages
        case unsupported(RFBSecurityType)
        /// The handshake failed: the client has nothing more to say.
        case closed
    }

    enum ServerStage: Sendable, Equatable {
        case version, security, waitChoice, challenge, securityResult, serverInit, messages, update
        case unsupported(RFBSecurityType)
        /// The server reported a failure and closes.
        case closed
    }

    /// What one parsing step did.
    enum Step {
        case emitted(RFBParseEvent)
        case advanced
        case blocked
    }

    /// Feeds bytes one side sent; returns the messages (and problems) this completed, in order.
    public mutating func feed(_ direction: RFBDirection, _ bytes: some Collection<UInt8>) -> [RFBParseEvent] {
        let i = direction.index
        guard !bytes.isEmpty, !sides[i].stopped else { return [] }
        sides[i].queue.append(bytes)
        var out: [RFBParseEvent] = []
        run(direction, into: &out)
        return out
    }

    /// Tells the parser that `count` bytes of `direction` were replaced by filler in the recording
    /// (`--record-redact`); nil when how many TCP bytes the filler stands for is not known. A
    /// redacted VNC authentication response is passed over (it is never shown anyway), as are
    /// bytes inside pixel or clipboard data; anything else stops that direction with a
    /// ``RFBParseProblem/Kind/redacted`` problem.
    public mutating func feedRedacted(_ direction: RFBDirection, count: Int?) -> [RFBParseEvent] {
        let i = direction.index
        guard count != 0, !sides[i].stopped else { return [] }
        var out: [RFBParseEvent] = []
        if var remaining = count {
            let insideSkip = Int(min(UInt64(remaining), sides[i].queue.pendingSkip))
            if insideSkip > 0 {
                sides[i].queue.append(repeatElement(0, count: insideSkip))
                remaining -= insideSkip
                run(direction, into: &out)
            }
            guard remaining > 0, !sides[i].stopped else { return out }
            if direction == .clientToServer, clientStage == .authResponse, sides[i].queue.count + remaining <= 16 {
                sides[i].queue.append(repeatElement(0, count: remaining))
                run(direction, into: &out)
                return out
            }
        }
        let what = count.map { "\($0) bytes" } ?? "bytes"
        out.append(stopEvent(direction, .redacted, at: messageStart(direction), "\(what) the recording redacted"))
        return out
    }

    /// Tells the parser that bytes of `direction` are missing here (e.g. records a recording lost):
    /// nothing after them can be placed, so the direction stops with a ``RFBParseProblem/Kind/lost``
    /// problem saying `detail`.
    public mutating func markLost(_ direction: RFBDirection, _ detail: String) -> [RFBParseEvent] {
        guard !sides[direction.index].stopped else { return [] }
        return [stopEvent(direction, .lost, at: messageStart(direction), detail)]
    }

    /// Reports what the streams end inside of (a message cut short), once; call after the last
    /// bytes of the session. Both directions are stopped afterwards.
    public mutating func finish() -> [RFBParseEvent] {
        var out: [RFBParseEvent] = []
        for direction in RFBDirection.allCases where !sides[direction.index].stopped {
            if let what = incompleteMessage(direction) {
                out.append(stopEvent(direction, .truncated, at: messageStart(direction), what))
            }
            sides[direction.index].stopped = true
        }
        return out
    }

    /// Whether a direction is no longer followed (after a problem, or after ``finish()``).
    public func isStopped(_ direction: RFBDirection) -> Bool { sides[direction.index].stopped }

    // MARK: Driving

    /// Parses `direction` as far as its bytes go. After every message, the other direction gets
    /// its turn if it was waiting for what this one just settled, so the order of events does
    /// not depend on how the bytes were split.
    mutating func run(_ direction: RFBDirection, into out: inout [RFBParseEvent]) {
        while true {
            switch step(direction) {
            case .blocked:
                return
            case .advanced:
                continue
            case .emitted(let event):
                out.append(event)
                if isWaitingForPeer(direction.other) { run(direction.other, into: &out) }
            }
        }
    }

    private func isWaitingForPeer(_ direction: RFBDirection) -> Bool {
        guard !sides[direction.index].stopped else { return false }
        switch direction {
        case .clientToServer: return clientStage == .waitServerSecurity
        case .serverToClient: return serverStage == .security || serverStage == .waitChoice
        }
    }

    private mutating func step(_ direction: RFBDirection) -> Step {
        let i = direction.index
        guard !sides[i].stopped, !sides[i].queue.isSkipping else { return .blocked }
        if let pending = sides[i].pending {
            sides[i].pending = nil
            return emitted(direction, from: pending.start, pending.message)
        }
        return direction == .clientToServer ? stepClient() : stepServer()
    }

    // MARK: Helpers for the two sides

    /// The message made of the next `length` buffered bytes.
    mutating func take(_ direction: RFBDirection, _ length: Int, _ message: RFBMessage) -> Step {
        let start = sides[direction.index].queue.offset
        sides[direction.index].queue.consume(length)
        return emitted(direction, from: start, message)
    }

    /// A message of `header` buffered bytes followed by `skip` bytes not looked at: reported once
    /// those have arrived.
    mutating func take(_ direction: RFBDirection, header: Int, skip: UInt64, _ message: RFBMessage) -> Step {
        let i = direction.index
        let start = sides[i].queue.offset
        sides[i].queue.consume(header)
        sides[i].queue.skip(skip)
        sides[i].pending = PendingMessage(start: start, message: message)
        return .advanced
    }

    func emitted(_ direction: RFBDirection, from start: UInt64, _ message: RFBMessage) -> Step {
        let length = sides[direction.index].queue.offset - start
        return .emitted(
            .message(RFBParsedMessage(direction: direction, offset: start, length: length, message: message)))
    }

    /// Stops following `direction` (its later bytes are dropped) and reports why.
    mutating func stop(_ direction: RFBDirection, _ kind: RFBParseProblem.Kind, at offset: UInt64, _ detail: String)
        -> Step
    {
        .emitted(stopEvent(direction, kind, at: offset, detail))
    }

    private mutating func stopEvent(
        _ direction: RFBDirection, _ kind: RFBParseProblem.Kind, at offset: UInt64, _ detail: String
    ) -> RFBParseEvent {
        let i = direction.index
        sides[i].stopped = true
        sides[i].pending = nil
        sides[i].queue.discardAll()
        if direction == .serverToClient { update = nil }
        return .problem(RFBParseProblem(direction: direction, kind: kind, offset: offset, detail: detail))
    }

    /// Where the message being read starts.
    func messageStart(_ direction: RFBDirection) -> UInt64 {
        let side = sides[direction.index]
        if let pending = side.pending { return pending.start }
        if direction == .serverToClient, let update { return update.start }
        return side.queue.offset
    }

    /// A string of `length` bytes at `index` if buffered (nil: wait), keeping at most
    /// ``stringLimit`` bytes; `keep` is how many bytes the returned text covers.
    func string(_ direction: RFBDirection, at index: Int, length: UInt32) -> (text: String, keep: Int)? {
        let queue = sides[direction.index].queue
        let keep = Int(min(UInt64(length), UInt64(Self.stringLimit)))
        guard queue.count >= index + keep else { return nil }
        return (String(decoding: queue.bytes(index, keep), as: UTF8.self), keep)
    }

    /// A reason string after `header` bytes (a U32 length, then the text): the whole message.
    mutating func reasonMessage(_ direction: RFBDirection, header: Int, _ make: (String) -> RFBMessage) -> Step {
        let queue = sides[direction.index].queue
        guard queue.count >= header + 4 else { return .blocked }
        let length = queue.u32(header)
        guard let (text, keep) = string(direction, at: header + 4, length: length) else { return .blocked }
        return take(direction, header: header + 4 + keep, skip: UInt64(length) - UInt64(keep), make(text))
    }

    /// What the stream of `direction` stopped inside of, for ``finish()``; nil at a boundary.
    private func incompleteMessage(_ direction: RFBDirection) -> String? {
        let side = sides[direction.index]
        if let pending = side.pending {
            return "the stream ends inside a \(pending.message.name): \(side.queue.pendingSkip) bytes missing"
        }
        if direction == .serverToClient, let update {
            return "the stream ends inside a FramebufferUpdate after \(update.rectangles.count) of "
                + "\(update.declaredCount) rectangles"
        }
        guard side.queue.count > 0 else { return nil }
        let bytes = "\(side.queue.count) bytes"
        switch direction {
        case .clientToServer:
            switch clientStage {
            case .messages:
                return "the stream ends inside a \(RFBMessage.typeName(side.queue[0], from: direction)) (\(bytes))"
            case .waitServerSecurity: return "\(bytes) wait for the server's security type"
            default: return "the stream ends inside the handshake (\(bytes))"
            }
        case .serverToClient:
            switch serverStage {
            case .messages:
                return "the stream ends inside a \(RFBMessage.typeName(side.queue[0], from: direction)) (\(bytes))"
            case .security where state.clientVersion == nil: return "\(bytes) wait for the client's version"
            case .waitChoice: return "\(bytes) wait for the client's security choice"
            default: return "the stream ends inside the handshake (\(bytes))"
            }
        }
    }
}

extension RFBDirection {
    /// Index into ``RFBSessionParser/sides``.
    var index: Int { self == .clientToServer ? 0 : 1 }
}
