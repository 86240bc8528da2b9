import NIOCore
import RecordFormat
import Testing
import WebSocketWire

@testable import Proxy

/// The session state machine alone: events in, actions out, no channel and no clock.
@Suite("Session state machine")
struct SessionStateMachineTests {
    typealias Machine = SessionStateMachine
    typealias Ending = SessionStateMachine.Ending

    static let timeout = TimeAmount.seconds(2)

    static func machine(heartbeat: TimeAmount? = nil) -> Machine {
        Machine(configuration: .init(heartbeatInterval: heartbeat, closeHandshakeTimeout: timeout))
    }

    /// A machine relaying over a target connection, both sides writable.
    static func open(heartbeat: TimeAmount? = nil) -> Machine {
        var machine = machine(heartbeat: heartbeat)
        _ = machine.targetConnected(clientWritable: true, targetWritable: true)
        return machine
    }

    /// A machine whose proxy sent its close frame (the target closed) and waits for the client's.
    static func closing() -> Machine {
        var machine = open()
        _ = machine.targetClosed(failed: false)
        return machine
    }

    static let bytes = ByteBuffer(string: "abc")
    static let targetClosedNormally = Ending(closer: .target, code: 1000, reason: "target closed the connection")

    // MARK: Opening

    @Test("the target connects: the session opens, reads the target, parses waiting client bytes; with a heartbeat it is scheduled")
    func targetConnects() {
        var machine = Self.machine()
        #expect(machine.isConnecting)
        #expect(machine.targetConnected(clientWritable: true, targetWritable: true).list == [.open, .readTarget, .parseClientBytes])
        #expect(!machine.isConnecting)

        var beating = Self.machine(heartbeat: .seconds(30))
        #expect(
            beating.targetConnected(clientWritable: true, targetWritable: true).list == [
                .open, .startTimer(.heartbeat, .seconds(30)), .readTarget, .parseClientBytes,
            ])
    }

    @Test("a session backend takes the target's place: open without a target read or heartbeat")
    func backendOpens() {
        var machine = Self.machine(heartbeat: .seconds(30))
        #expect(machine.backendReady(clientActive: true).list == [.open, .parseClientBytes])
        #expect(machine.clientData(Self.bytes).list == [.relayToTarget(Self.bytes)])
        #expect(machine.clientReadComplete().list == [.readClient], "a backend always takes more")

        var gone = Self.machine()
        #expect(gone.backendReady(clientActive: false).list == [.finish(Ending(closer: .unknown, code: nil, reason: ""))])
        #expect(gone.isFinished)
    }

    @Test("the target cannot be reached: close 1011 'target unreachable' and drain")
    func targetUnreachable() {
        var machine = Self.machine()
        #expect(
            machine.targetFailed().list == [
                .sendClose(code: 1011, reason: "target unreachable"), .shutClientOutput,
                .startTimer(.closeHandshake, Self.timeout), .readClient,
            ])
        #expect(machine.clientPing(Self.bytes).list == [], "draining: nothing is answered")
        #expect(machine.clientClose(code: 1000, reason: "").list == [], "one close frame per connection")
        #expect(machine.clientReadComplete().list == [.readClient], "draining reads and drops")
        #expect(
            machine.clientInactive(pendingBytes: false).list == [
                .cancelTimer(.closeHandshake), .finish(Ending(closer: .proxy, code: 1011, reason: "target unreachable")),
            ])
        #expect(machine.targetConnected(clientWritable: true, targetWritable: true).list == [.closeTarget], "too late")
    }

    @Test("the client leaves while the target connects: its frames are delivered once the target is up, then the session ends")
    func clientLeavesWhileConnecting() {
        var machine = Self.machine(heartbeat: .seconds(30))
        #expect(machine.clientInactive(pendingBytes: true).list == [])
        #expect(machine.isConnecting)
        #expect(machine.targetConnected(clientWritable: false, targetWritable: true).list == [.open, .parseClientBytes])
        #expect(machine.clientData(Self.bytes).list == [.relayToTarget(Self.bytes)])
        #expect(machine.clientPing(Self.bytes).list == [], "no pong to a client that left")
        #expect(machine.clientClose(code: 1001, reason: "bye").list == [])
        #expect(
            machine.clientReadComplete().list == [.closeTarget, .finish(Ending(closer: .client, code: 1001, reason: "bye"))])
        #expect(machine.isFinished)
    }

    @Test("the client leaves while the target connects, sending nothing: the session ends at once")
    func clientLeavesEmptyHanded() {
        var machine = Self.machine()
        #expect(machine.clientInactive(pendingBytes: false).list == [.finish(.clientLeft)])
        #expect(machine.targetConnected(clientWritable: true, targetWritable: true).list == [.closeTarget])

        var failing = Self.machine()
        _ = failing.clientInactive(pendingBytes: true)
        #expect(failing.targetFailed().list == [.finish(.clientLeft)], "the frames have nowhere to go")
    }

    // MARK: Relaying

    @Test("relaying: client payloads go to the target, target bytes to the client, pings are answered")
    func relays() {
        var machine = Self.open()
        #expect(machine.clientData(Self.bytes).list == [.relayToTarget(Self.bytes)])
        #expect(machine.clientData(nil).list == [], "a base64 fragment waiting for the rest of its message")
        #expect(machine.clientData(ByteBuffer()).list == [], "nothing to write")
        #expect(machine.targetBytes(Self.bytes).list == [.relayToClient(Self.bytes)])
        #expect(machine.clientPing(Self.bytes).list == [.sendPong(Self.bytes)])
        #expect(machine.clientPong().list == [])
        #expect(machine.clientReadComplete().list == [.readClient])
        #expect(machine.targetReadComplete().list == [.readTarget])
    }

    @Test("the per-frame events carry their action inline (no array)")
    func perFrameActionsInline() {
        var machine = Self.open()
        #expect(machine.clientData(Self.bytes) == .one(.relayToTarget(Self.bytes)))
        #expect(machine.targetBytes(Self.bytes) == .one(.relayToClient(Self.bytes)))
        #expect(machine.clientReadComplete() == .one(.readClient))
        #expect(machine.targetReadComplete() == .one(.readTarget))
        #expect(machine.clientPong() == .none)
    }

    @Test("target to client: an unwritable client holds target reads back, and the owed read follows when it drains")
    func clientBackpressure() {
        var machine = Self.open()
        #expect(machine.clientWritabilityChanged(isWritable: false).list == [])
        #expect(machine.targetBytes(Self.bytes).list == [.relayToClient(Self.bytes)], "bytes already read still go")
        #expect(machine.targetReadComplete().list == [], "no new target read")
        #expect(machine.targetReadComplete().list == [])
        #expect(machine.clientReadComplete().list == [.readClient], "the other direction is not affected")
        #expect(machine.clientWritabilityChanged(isWritable: true).list == [.readTarget])
        #expect(machine.clientWritabilityChanged(isWritable: true).list == [], "owed once, read once")

        _ = machine.clientWritabilityChanged(isWritable: false)
        #expect(machine.clientWritabilityChanged(isWritable: true).list == [], "no read was due: the one asked for is still out")
    }

    @Test("client to target: an unwritable target holds client reads back, and the owed read follows when it drains")
    func targetBackpressure() {
        var machine = Self.open()
        #expect(machine.targetWritabilityChanged(isWritable: false).list == [])
        #expect(machine.clientReadComplete().list == [])
        #expect(machine.targetReadComplete().list == [.readTarget], "the other direction is not affected")
        #expect(machine.targetWritabilityChanged(isWritable: true).list == [.readClient])
        #expect(machine.targetWritabilityChanged(isWritable: true).list == [])

        var late = Self.machine()
        _ = late.targetConnected(clientWritable: false, targetWritable: false)
        #expect(late.clientReadComplete().list == [], "writability at connect time counts")
        #expect(late.targetReadComplete().list == [])
        #expect(late.clientWritabilityChanged(isWritable: true).list == [.readTarget])
        #expect(late.targetWritabilityChanged(isWritable: true).list == [.readClient])
    }

    @Test("heartbeat: each firing pings, flushes and schedules the next; it stops when closing starts")
    func heartbeat() {
        var machine = Self.open(heartbeat: .seconds(5))
        #expect(machine.timerFired(.heartbeat).list == [.sendPing, .flushClient, .startTimer(.heartbeat, .seconds(5))])
        #expect(machine.timerFired(.heartbeat).list == [.sendPing, .flushClient, .startTimer(.heartbeat, .seconds(5))])
        #expect(machine.serverShutdown().list.contains(.cancelTimer(.heartbeat)))
        #expect(machine.timerFired(.heartbeat).list == [], "a late firing does nothing")
    }

    // MARK: Closing

    @Test("client closes: its code is echoed without the reason, the target closed, the client drained")
    func clientCloses() {
        var machine = Self.open()
        #expect(
            machine.clientClose(code: 4000, reason: "done").list == [
                .sendClose(code: 4000, reason: ""), .cancelTimer(.heartbeat), .closeTarget, .shutClientOutput,
                .startTimer(.closeHandshake, Self.timeout), .readClient,
            ])
        #expect(machine.clientData(Self.bytes).list == [], "nothing is relayed any more")
        #expect(machine.targetBytes(Self.bytes).list == [])
        #expect(machine.targetClosed(failed: false).list == [], "the target closing now changes nothing")
        #expect(machine.timerFired(.closeHandshake).list == [.closeClient], "a client that doesn't leave is cut")
        #expect(
            machine.clientInactive(pendingBytes: false).list == [
                .cancelTimer(.closeHandshake), .finish(Ending(closer: .client, code: 4000, reason: "done")),
            ])

        var empty = Self.open()
        #expect(empty.clientClose(code: nil, reason: "").list.first == .sendClose(code: nil, reason: ""), "an empty close is echoed empty")
    }

    @Test("the target closes: close 1000 and wait for the client's answer; pings are still answered, data is not relayed")
    func targetCloses() {
        var machine = Self.open()
        #expect(
            machine.targetClosed(failed: false).list == [
                .sendClose(code: 1000, reason: "target closed the connection"), .flushClient, .cancelTimer(.heartbeat),
                .startTimer(.closeHandshake, Self.timeout), .parseClientBytes,
            ])
        #expect(machine.clientPing(Self.bytes).list == [.sendPong(Self.bytes)])
        #expect(machine.clientData(Self.bytes).list == [])
        #expect(machine.clientReadComplete().list == [.readClient], "reading on to find the client's close")
        #expect(machine.serverShutdown().list == [], "already closing")
        #expect(
            machine.clientClose(code: 1000, reason: "").list == [
                .shutClientOutput, .startTimer(.closeHandshake, Self.timeout), .readClient,
            ], "the handshake is complete: no second close frame")
        #expect(
            machine.clientInactive(pendingBytes: false).list == [.cancelTimer(.closeHandshake), .finish(Self.targetClosedNormally)])

        var failed = Self.open()
        #expect(failed.targetClosed(failed: true).list.first == .sendClose(code: 1011, reason: "target connection failed"))
    }

    @Test("close-handshake timeout: a client that never answers the close is cut, and the session keeps the proxy's ending")
    func closeHandshakeTimeout() {
        var machine = Self.closing()
        #expect(machine.timerFired(.heartbeat).list == [])
        #expect(machine.timerFired(.closeHandshake).list == [.closeClient])
        #expect(
            machine.clientInactive(pendingBytes: false).list == [.cancelTimer(.closeHandshake), .finish(Self.targetClosedNormally)])
    }

    @Test("protocol failure: close with the parser's code and reason (1002, 1007, 1009) and drain; while closing, no second close frame")
    func protocolFailure() {
        var machine = Self.open()
        #expect(
            machine.clientProtocolFailure(code: 1009, reason: "message over 10 bytes").list == [
                .sendClose(code: 1009, reason: "message over 10 bytes"), .cancelTimer(.heartbeat), .closeTarget,
                .shutClientOutput, .startTimer(.closeHandshake, Self.timeout), .readClient,
            ])
        #expect(
            machine.clientInactive(pendingBytes: false).list == [
                .cancelTimer(.closeHandshake), .finish(Ending(closer: .proxy, code: 1009, reason: "message over 10 bytes")),
            ])

        var closing = Self.closing()
        #expect(
            closing.clientProtocolFailure(code: 1002, reason: "client frame not masked").list == [
                .shutClientOutput, .startTimer(.closeHandshake, Self.timeout), .readClient,
            ])
        #expect(closing.clientInactive(pendingBytes: false).list.last == .finish(Self.targetClosedNormally))
    }

    @Test("server shutdown: 1001 to the client and the target closed; before the target is up, only the close frame")
    func serverShutdown() {
        var machine = Self.open()
        #expect(
            machine.serverShutdown().list == [
                .sendClose(code: 1001, reason: "server shutting down"), .flushClient, .cancelTimer(.heartbeat),
                .closeTarget, .startTimer(.closeHandshake, Self.timeout), .parseClientBytes,
            ])
        #expect(machine.serverShutdown().list == [])

        var connecting = Self.machine()
        #expect(
            connecting.serverShutdown().list == [
                .sendClose(code: 1001, reason: "server shutting down"), .flushClient,
                .startTimer(.closeHandshake, Self.timeout), .parseClientBytes,
            ])
        #expect(connecting.targetConnected(clientWritable: true, targetWritable: true).list == [.closeTarget])
        #expect(connecting.targetFailed().list == [])
    }

    @Test("a session backend closes like a target, with its own code and reason")
    func backendCloses() {
        var machine = Self.machine()
        _ = machine.backendReady(clientActive: true)
        #expect(
            machine.backendClose(code: 4000, reason: "bye").list == [
                .sendClose(code: 4000, reason: "bye"), .flushClient, .cancelTimer(.heartbeat),
                .startTimer(.closeHandshake, Self.timeout), .parseClientBytes,
            ])
        #expect(machine.backendClose(code: 4001, reason: "again").list == [])
        _ = machine.clientClose(code: 4000, reason: "")
        #expect(
            machine.clientInactive(pendingBytes: false).list.last == .finish(Ending(closer: .target, code: 4000, reason: "bye")))
    }

    @Test("the client connection drops while relaying: heartbeat cancelled, target closed, ended by the client")
    func clientDrops() {
        var machine = Self.open(heartbeat: .seconds(5))
        #expect(machine.clientError().list == [.closeClient])
        #expect(machine.clientInactive(pendingBytes: false).list == [.cancelTimer(.heartbeat), .closeTarget, .finish(.clientLeft)])
        #expect(machine.isFinished)
        #expect(machine.clientError().list == [])
        #expect(machine.clientInactive(pendingBytes: false).list == [], "finished once")
        #expect(machine.timerFired(.heartbeat).list == [])
    }
}
