import NIOCore
import RecordFormat
import WebSocketWire

/// The life of one proxied WebSocket session, with no I/O: waiting for the target, relaying with
/// backpressure both ways, the closing handshake (RFC 6455 §7.1) and the drain that follows it.
///
/// The session handler reports each event (a client frame parsed, target bytes, a writability
/// change, a timer firing…) and performs the returned ``Actions`` in order. The machine reads no
/// clock: timers are actions with a delay, and their firing is an event.
///
/// Events on the per-frame path (``clientData(_:)``, ``targetBytes(_:)``, the read-complete and
/// writability events) return at most one action, carried by value: they neither allocate nor
/// box anything.
struct SessionStateMachine {
    struct Configuration: Sendable {
        /// Pings the client this often while relaying (nil: never).
        var heartbeatInterval: TimeAmount?
        /// How long to wait for the client's answer to a close frame, and for the client to close
        /// its side after ours (RFC 6455 §7.1.1: the server should close TCP first).
        var closeHandshakeTimeout: TimeAmount
    }

    enum Timer: Hashable, Sendable {
        /// Time for the next heartbeat ping.
        case heartbeat
        /// The closing handshake (or the drain after it) took too long: cut the connection.
        case closeHandshake
    }

    /// How a session ends: who started the close, and the code and reason sent or received.
    struct Ending: Equatable, Sendable {
        var closer: Closer
        /// The close code (RFC 6455 §7.4); nil when no close frame carried one.
        var code: UInt16?
        var reason: String

        static let clientLeft = Ending(closer: .client, code: nil, reason: "")
    }

    /// One thing for the handler to do.
    enum Action: Equatable {
        /// The session is up: tell the taps, log it, start the session backend if there is one.
        case open
        /// Parse the client bytes waiting in the handler, then report ``clientReadComplete()``.
        /// Always the last action of its list: the parse feeds events of its own.
        case parseClientBytes
        /// Send these target bytes to the client as one data frame (not flushed).
        case relayToClient(ByteBuffer)
        /// Send this client payload to the target (not flushed).
        case relayToTarget(ByteBuffer)
        /// Answer a ping (RFC 6455 §5.5.3), not flushed.
        case sendPong(ByteBuffer)
        /// The heartbeat ping, not flushed.
        case sendPing
        /// A close frame with `code` (nil: no code) and `reason` (RFC 6455 §5.5.1), not flushed.
        case sendClose(code: UInt16?, reason: String)
        case flushClient
        /// Ask the client channel for one more read (auto-read is off).
        case readClient
        /// Ask the target channel for one more read.
        case readTarget
        /// Close the target connection once what was written to it has been sent.
        case closeTarget
        /// Flush the client, then shut our sending side once that is sent; keep reading (the drain).
        case shutClientOutput
        /// Close the client connection now.
        case closeClient
        /// Start `timer` to fire after the delay, replacing one of the same kind.
        case startTimer(Timer, TimeAmount)
        case cancelTimer(Timer)
        /// The session is over: report `Ending` with the totals (taps, backend, log).
        case finish(Ending)
    }

    /// The actions for one event, in order. One action is carried inline; only the rarer
    /// state changes that need several use an array.
    enum Actions: Equatable {
        case none
        case one(Action)
        case many([Action])

        init(_ list: [Action]) {
            switch list.count {
            case 0: self = .none
            case 1: self = .one(list[0])
            default: self = .many(list)
            }
        }

        var list: [Action] {
            switch self {
            case .none: []
            case .one(let action): [action]
            case .many(let actions): actions
            }
        }

        var isEmpty: Bool {
            if case .none = self { return true }
            return false
        }
    }

    /// Whether one direction may read from its source: the side it writes to can take more.
    enum Flow: Equatable {
        /// The receiving side is writable; reads go on.
        case flowing
        /// The receiving side is above its high water mark; no read is asked for.
        case paused
        /// As ``paused``, and a read was due: it is asked for as soon as the receiver drains.
        case pausedReadOwed
    }

    /// Relaying, with each direction paced by the writability of the side it writes to.
    struct Relay: Equatable {
        /// Client reads, paced by the target (a session backend is always writable).
        var clientToTarget: Flow
        /// Target reads, paced by the client.
        var targetToClient: Flow
    }

    private enum State {
        /// Waiting for the target connection (or the session backend); client bytes wait unparsed.
        case connecting
        /// The client left while the target was still connecting, and its frames wait to be
        /// delivered once the target is up.
        case connectingClientGone
        case open(Relay)
        /// The client is gone; its frames are parsed and delivered to the target, then the session
        /// ends with `Ending`.
        case delivering(Ending)
        /// Our close frame is out; waiting for the client's (RFC 6455 §7.1.2) or the timer.
        case closing(Ending)
        /// Both close frames are exchanged (or the connection failed): our side of TCP is shut once
        /// flushed, and client bytes are read and dropped until it closes too, so the close frame
        /// isn't lost to a reset caused by unread data (RFC 6455 §7.1.1).
        case draining(Ending)
        case finished
    }

    let configuration: Configuration
    private var state = State.connecting

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// True until the target (or backend) is up or the session ended: client bytes wait unparsed.
    var isConnecting: Bool {
        switch state {
        case .connecting, .connectingClientGone: true
        case .open, .delivering, .closing, .draining, .finished: false
        }
    }

    var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    // MARK: Target and backend

    /// The target connection is up, with the writability of both sides at that moment.
    mutating func targetConnected(clientWritable: Bool, targetWritable: Bool) -> Actions {
        switch state {
        case .connecting:
            state = .open(Relay(clientToTarget: Self.flow(targetWritable), targetToClient: Self.flow(clientWritable)))
            if let interval = configuration.heartbeatInterval {
                return .many([.open, .startTimer(.heartbeat, interval), .readTarget, .parseClientBytes])
            }
            return .many([.open, .readTarget, .parseClientBytes])
        case .connectingClientGone:
            state = .delivering(.clientLeft)
            return .many([.open, .parseClientBytes])
        case .open, .delivering, .closing, .draining, .finished:
            // Too late (closed during the connect): drop the connection.
            return .one(.closeTarget)
        }
    }

    /// The target connection could not be made.
    mutating func targetFailed() -> Actions {
        switch state {
        case .connecting:
            let ending = Ending(closer: .proxy, code: CloseCode.internalError, reason: "target unreachable")
            return drain(ending, closeFrame: (ending.code, ending.reason), from: .connecting)
        case .connectingClientGone:
            state = .finished
            return .one(.finish(.clientLeft))
        case .open, .delivering, .closing, .draining, .finished:
            return .none
        }
    }

    /// A session backend takes the target's place (on the loop's next turn after the handshake).
    mutating func backendReady(clientActive: Bool) -> Actions {
        switch state {
        case .connecting where clientActive:
            state = .open(Relay(clientToTarget: .flowing, targetToClient: .flowing))
            return .many([.open, .parseClientBytes])
        case .connecting:
            state = .finished
            return .one(.finish(Ending(closer: .unknown, code: nil, reason: "")))
        case .connectingClientGone:
            // A backend has nothing to deliver a departed client's frames to.
            state = .finished
            return .one(.finish(.clientLeft))
        case .open, .delivering, .closing, .draining, .finished:
            return .none
        }
    }

    /// Bytes from the target (or the backend) for the client.
    mutating func targetBytes(_ bytes: ByteBuffer) -> Actions {
        guard case .open = state else { return .none }
        return .one(.relayToClient(bytes))
    }

    /// The target read is done (the handler flushed the client): read it again if the client can take more.
    mutating func targetReadComplete() -> Actions {
        pace(.targetToClient) { $0.readDue() }
    }

    mutating func targetWritabilityChanged(isWritable: Bool) -> Actions {
        pace(.clientToTarget) { $0.receiver(writable: isWritable) }
    }

    /// The target connection closed (`failed`: after an error).
    mutating func targetClosed(failed: Bool) -> Actions {
        switch state {
        case .connecting, .open:
            let ending =
                failed
                ? Ending(closer: .target, code: CloseCode.internalError, reason: "target connection failed")
                : Ending(closer: .target, code: CloseCode.normal, reason: "target closed the connection")
            return startClosing(ending, targetOpen: false)
        case .connectingClientGone, .delivering, .closing, .draining, .finished:
            return .none
        }
    }

    /// The session backend asks to close, as a target closing would.
    mutating func backendClose(code: UInt16?, reason: String) -> Actions {
        guard case .open = state else { return .none }
        return startClosing(Ending(closer: .target, code: code, reason: reason), targetOpen: false)
    }

    // MARK: Client

    /// A data frame's payload: `forward` is what goes to the target now, if anything.
    mutating func clientData(_ forward: ByteBuffer?) -> Actions {
        switch state {
        case .open, .delivering:
            guard let forward, forward.readableBytes > 0 else { return .none }
            return .one(.relayToTarget(forward))
        case .connecting, .connectingClientGone, .closing, .draining, .finished:
            return .none
        }
    }

    mutating func clientPing(_ payload: ByteBuffer) -> Actions {
        switch state {
        case .open, .closing:
            return .one(.sendPong(payload))
        case .connecting, .connectingClientGone, .delivering, .draining, .finished:
            return .none
        }
    }

    /// A pong (an answer to the heartbeat, or unsolicited): nothing to do (RFC 6455 §5.5.3).
    mutating func clientPong() -> Actions { .none }

    /// The client's close frame: answer it (echoing the code), or, if it answers ours, the handshake is done.
    mutating func clientClose(code: UInt16?, reason: String) -> Actions {
        clientEnds(Ending(closer: .client, code: code, reason: reason), answer: (code, ""))
    }

    /// The client broke the protocol: fail the connection with `code` (RFC 6455 §7.1.7).
    mutating func clientProtocolFailure(code: UInt16, reason: String) -> Actions {
        clientEnds(Ending(closer: .proxy, code: code, reason: reason), answer: (code, reason))
    }

    /// The client's side of the session is over (its close frame, or a protocol failure): send
    /// `answer` and drain; but only one close frame per connection (RFC 6455 §5.5.1), so when ours
    /// is out already, stop waiting and keep its ending.
    private mutating func clientEnds(_ ending: Ending, answer: (code: UInt16?, reason: String)) -> Actions {
        switch state {
        case .open:
            return drain(ending, closeFrame: answer, from: .open)
        case .closing(let ours):
            return drain(ours, closeFrame: nil, from: .closing)
        case .delivering:
            state = .delivering(ending)
            return .none
        case .connecting, .connectingClientGone, .draining, .finished:
            return .none
        }
    }

    /// The handler parsed what the client sent (and flushed both sides): read the client again
    /// if its bytes have somewhere to go.
    mutating func clientReadComplete() -> Actions {
        switch state {
        case .open:
            return pace(.clientToTarget) { $0.readDue() }
        case .closing, .draining:
            // Only the client's close frame (or its leaving) matters now; keep reading to find it.
            return .one(.readClient)
        case .delivering(let ending):
            state = .finished
            return .many([.closeTarget, .finish(ending)])
        case .connecting, .connectingClientGone, .finished:
            return .none
        }
    }

    mutating func clientWritabilityChanged(isWritable: Bool) -> Actions {
        pace(.targetToClient) { $0.receiver(writable: isWritable) }
    }

    /// The client connection closed. `pendingBytes`: client bytes wait unparsed.
    mutating func clientInactive(pendingBytes: Bool) -> Actions {
        switch state {
        case .connecting where pendingBytes:
            state = .connectingClientGone
            return .none
        case .connecting:
            state = .finished
            return .one(.finish(.clientLeft))
        case .open:
            state = .finished
            return .many([.cancelTimer(.heartbeat), .closeTarget, .finish(.clientLeft)])
        case .closing(let ending), .draining(let ending):
            state = .finished
            return .many([.cancelTimer(.closeHandshake), .finish(ending)])
        case .connectingClientGone, .delivering, .finished:
            return .none
        }
    }

    /// An error on the client connection: close it (the session ends when it is inactive).
    mutating func clientError() -> Actions {
        if case .finished = state { return .none }
        return .one(.closeClient)
    }

    // MARK: Server and timers

    /// The server shuts down: close with 1001 (going away).
    mutating func serverShutdown() -> Actions {
        let ending = Ending(closer: .proxy, code: CloseCode.goingAway, reason: "server shutting down")
        switch state {
        case .connecting:
            return startClosing(ending, targetOpen: false)
        case .open:
            return startClosing(ending, targetOpen: true)
        case .connectingClientGone, .delivering, .closing, .draining, .finished:
            return .none
        }
    }

    mutating func timerFired(_ timer: Timer) -> Actions {
        switch (timer, state) {
        case (.heartbeat, .open):
            guard let interval = configuration.heartbeatInterval else { return .none }
            return .many([.sendPing, .flushClient, .startTimer(.heartbeat, interval)])
        case (.closeHandshake, .closing), (.closeHandshake, .draining):
            return .one(.closeClient)
        default:
            return .none
        }
    }

    // MARK: Transitions

    private enum ClosingFrom { case connecting, open, closing }

    /// Sends a close frame and waits for the client's answer for a bounded time (RFC 6455 §7.1.2).
    /// `targetOpen`: the target is still connected and must be closed too.
    private mutating func startClosing(_ ending: Ending, targetOpen: Bool) -> Actions {
        let wasOpen: Bool
        if case .open = state { wasOpen = true } else { wasOpen = false }
        state = .closing(ending)
        var actions: [Action] = [.sendClose(code: ending.code, reason: ending.reason), .flushClient]
        if wasOpen { actions.append(.cancelTimer(.heartbeat)) }
        if targetOpen { actions.append(.closeTarget) }
        actions += [.startTimer(.closeHandshake, configuration.closeHandshakeTimeout), .parseClientBytes]
        return .many(actions)
    }

    /// Sends `closeFrame` if any, closes the target, shuts our side once flushed and drains the
    /// client until it closes (bounded by the close-handshake timeout).
    private mutating func drain(
        _ ending: Ending, closeFrame: (code: UInt16?, reason: String)?, from: ClosingFrom
    ) -> Actions {
        state = .draining(ending)
        var actions: [Action] = []
        if let closeFrame { actions.append(.sendClose(code: closeFrame.code, reason: closeFrame.reason)) }
        if from == .open { actions += [.cancelTimer(.heartbeat), .closeTarget] }
        actions += [.shutClientOutput, .startTimer(.closeHandshake, configuration.closeHandshakeTimeout), .readClient]
        return .many(actions)
    }

    private static func flow(_ writable: Bool) -> Flow { writable ? .flowing : .paused }

    private enum RelayDirection { case clientToTarget, targetToClient }

    /// Applies `change` to one direction's flow while relaying; when it says a read of that
    /// direction's source is due now, the read is the action.
    private mutating func pace(_ direction: RelayDirection, _ change: (inout Flow) -> Bool) -> Actions {
        guard case .open(var relay) = state else { return .none }
        let read: Bool
        switch direction {
        case .clientToTarget: read = change(&relay.clientToTarget)
        case .targetToClient: read = change(&relay.targetToClient)
        }
        state = .open(relay)
        guard read else { return .none }
        return .one(direction == .clientToTarget ? .readClient : .readTarget)
    }
}

extension SessionStateMachine.Flow {
    /// A read of the source is due: true if it may happen now, else it is owed.
    mutating func readDue() -> Bool {
        switch self {
        case .flowing:
            return true
        case .paused:
            self = .pausedReadOwed
            return false
        case .pausedReadOwed:
            return false
        }
    }

    /// The receiving side's writability changed: true when an owed read may happen now.
    mutating func receiver(writable: Bool) -> Bool {
        switch (self, writable) {
        case (.pausedReadOwed, true):
            self = .flowing
            return true
        case (.paused, true):
            self = .flowing
        case (.flowing, false):
            self = .paused
        default:
            break
        }
        return false
    }
}
