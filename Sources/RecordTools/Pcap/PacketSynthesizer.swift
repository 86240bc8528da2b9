import RecordFormat
import WebSocketWire

/// Turns a recording's records into the IP packets a capture of the session would have shown:
/// the WebSocket side (client ↔ proxy: HTTP upgrade, then every frame re-encoded) and the TCP side
/// (proxy ↔ target: the raw payload bytes). Addresses come from the open record; unknown ones are
/// replaced by documentation addresses (see docs/wsrecord-inspect.md, `export`).
public struct PacketSynthesizer {
    /// Which connection(s) of a session to synthesize.
    public enum Side: String, Sendable, CaseIterable {
        case websocket, tcp, both
    }

    public struct Configuration: Sendable {
        public var side: Side
        /// Largest TCP payload per packet; an IPv4 packet cannot exceed 65,535 bytes.
        public var maximumSegment: Int
        /// The masking key of every client frame (RFC 6455 §5.3 requires one; which is irrelevant here).
        public var maskKey: MaskKey

        public init(side: Side = .both, maximumSegment: Int = 64_000, maskKey: MaskKey = SyntheticWebSocketBytes.defaultMaskKey) {
            self.side = side
            self.maximumSegment = max(1, min(maximumSegment, 65_000))
            self.maskKey = maskKey
        }
    }

    /// The endpoints synthesized for one session.
    public struct Endpoints: Sendable, Equatable {
        public var client: IPEndpoint
        /// The proxy's listening socket (the WebSocket side).
        public var proxyListen: IPEndpoint
        /// The proxy's outgoing socket (the TCP side).
        public var proxyOutgoing: IPEndpoint
        public var target: IPEndpoint
    }

    private struct SessionState {
        var startWall: Int64
        var websocket: TCPConnection
        var tcp: TCPConnection
        var base64: Bool
        /// Base64 text of a message whose final fragment has not come yet, per direction.
        var pendingText: [[UInt8]] = [[], []]
    }

    public let configuration: Configuration
    private var sessions: [UInt32: SessionState] = [:]
    /// Marker texts waiting for the next packet.
    private var pendingNotes: [String] = []
    /// Sessions seen, in order of their first record.
    public private(set) var sessionsSeen: [UInt32] = []

    public init(configuration: Configuration = .init()) { self.configuration = configuration }

    private var websocketSide: Bool { configuration.side != .tcp }
    private var tcpSide: Bool { configuration.side != .websocket }

    /// The packets `record` stands for (none for markers), in order.
    public mutating func packets(for record: Record) -> [SyntheticPacket] {
        var packets = sessionPackets(for: record)
        if !pendingNotes.isEmpty, !packets.isEmpty {
            packets[0].comment = (pendingNotes + [packets[0].comment].compactMap { $0 }).joined(separator: "; ")
            pendingNotes = []
        }
        return packets
    }

    private mutating func sessionPackets(for record: Record) -> [SyntheticPacket] {
        guard record.session != 0 else {
            // A file-level marker has no packet of its own: it becomes the next packet's comment.
            if case .marker(let text) = record.body {
                let wall = Int64(clamping: record.timeMicros)
                pendingNotes.append("marker \(TextEncoding.isoDate(wallMicros: wall)): \(text)")
            }
            return []
        }
        var packets: [SyntheticPacket] = []
        if sessions[record.session] == nil {
            let open: SessionOpen
            if case .open(let recorded) = record.body {
                open = recorded
            } else {
                open = SessionOpen(startWallMicros: 0)
            }
            packets += start(record.session, open, at: record.timeMicros)
        }
        guard var state = sessions[record.session] else { return packets }
        let time = Self.timestamp(start: state.startWall, time: record.timeMicros)
        switch record.body {
        case .open, .marker:
            break
        case .frame(let frame):
            let fromClient = frame.direction == .clientToTarget
            var websocketPackets: [SyntheticPacket] = []
            var tcpPackets: [SyntheticPacket] = []
            if websocketSide {
                let wire = SyntheticWebSocketBytes.encode(frame, maskKey: fromClient ? configuration.maskKey : nil)
                websocketPackets = state.websocket.send(wire, from: fromClient ? .initiator : .responder, at: time)
            }
            if tcpSide, !frame.opcode.isControl {
                let bytes = rawBytes(of: frame, state: &state)
                tcpPackets = state.tcp.send(bytes, from: fromClient ? .initiator : .responder, at: time)
            }
            if frame.isRedacted {
                // The format forbids presenting the filler as data (record-format.md §4.6): say so.
                let note = "redacted: the \(frame.payload.count) payload bytes are filler, not recorded data"
                websocketPackets = websocketPackets.map { Self.annotated($0, note) }
                tcpPackets = tcpPackets.map { Self.annotated($0, note) }
            }
            packets += fromClient ? websocketPackets + tcpPackets : tcpPackets + websocketPackets
        case .close(let close):
            switch close.closedBy {
            case .client:
                packets +=
                    state.websocket.close(from: .initiator, at: time) + state.tcp.close(from: .initiator, at: time)
            case .target:
                packets +=
                    state.tcp.close(from: .responder, at: time) + state.websocket.close(from: .responder, at: time)
            case .proxy, .unknown:
                packets +=
                    state.websocket.close(from: .responder, at: time) + state.tcp.close(from: .initiator, at: time)
            }
        }
        sessions[record.session] = state
        return packets
    }

    /// A packet's time: the record's wall-clock time, kept within the range of ``RecordTime`` (the
    /// exporter has already moved records that are out of range; see ``RecordTimeline``).
    static func timestamp(start: Int64, time: UInt64) -> UInt64 {
        UInt64(RecordTime.wall(start: start, time: time) ?? RecordTime.latestWallMicros)
    }

    /// `packet` with `note` as its comment when it carries data (not a bare acknowledgment).
    private static func annotated(_ packet: SyntheticPacket, _ note: String) -> SyntheticPacket {
        let headerLength = packet.data[0] >> 4 == 6 ? 40 : 20
        guard packet.data.count > headerLength + TCPPacket.headerLength else { return packet }
        var copy = packet
        copy.comment = note
        return copy
    }

    /// The bytes a data frame carried on the TCP side: the payload, or for the `base64`
    /// subprotocol the decoded text once the message's final fragment has arrived.
    private func rawBytes(of frame: Frame, state: inout SessionState) -> [UInt8] {
        guard state.base64 else { return frame.payload }
        if frame.isRedacted { return [UInt8](repeating: 0, count: frame.payload.count * 3 / 4) }
        let side = frame.direction == .clientToTarget ? 0 : 1
        state.pendingText[side] += frame.payload
        guard frame.isFinal else { return [] }
        defer { state.pendingText[side] = [] }
        return TextEncoding.base64Decode(state.pendingText[side])
    }

    private mutating func start(_ session: UInt32, _ open: SessionOpen, at time: UInt64) -> [SyntheticPacket] {
        sessionsSeen.append(session)
        let endpoints = Self.endpoints(for: open, session: session)
        let seed = session &* 0x9E37_79B1
        var state = SessionState(
            startWall: open.startWallMicros,
            websocket: TCPConnection(
                initiator: endpoints.client, responder: endpoints.proxyListen,
                initialSequences: (0x1000_0000 &+ seed, 0x5000_0000 &+ seed),
                maximumSegment: configuration.maximumSegment),
            tcp: TCPConnection(
                initiator: endpoints.proxyOutgoing, responder: endpoints.target,
                initialSequences: (0x2000_0000 &+ seed, 0x6000_0000 &+ seed),
                maximumSegment: configuration.maximumSegment),
            base64: open.subprotocol == "base64")
        let wall = Self.timestamp(start: open.startWallMicros, time: time)
        var packets: [SyntheticPacket] = []
        if websocketSide {
            packets += state.websocket.open(at: wall)
            let host = open.listenAddress.isEmpty ? endpoints.proxyListen.description : open.listenAddress
            packets += state.websocket.send(
                SyntheticWebSocketBytes.upgradeRequest(path: open.requestPath, host: host, subprotocol: open.subprotocol),
                from: .initiator, at: wall)
            packets += state.websocket.send(
                SyntheticWebSocketBytes.upgradeResponse(subprotocol: open.subprotocol), from: .responder, at: wall)
        }
        if tcpSide { packets += state.tcp.open(at: wall) }
        sessions[session] = state
        return packets
    }

    /// Client, proxy and target addresses for a session: the recorded ones when they are IP
    /// literals, otherwise documentation addresses (192.0.2.1 client, .2 proxy, .3 target, or
    /// 2001:db8::1–3) with the recorded port, or 50000+, 6080 and 5900 when the port is unknown.
    public static func endpoints(for open: SessionOpen, session: UInt32) -> Endpoints {
        let (clientHost, clientPort) = IPEndpoint.split(open.clientAddress)
        let (listenHost, listenPort) = IPEndpoint.split(open.listenAddress)
        let clientAddress = IPEndpoint.parseAddress(clientHost)
        let listenAddress = IPEndpoint.parseAddress(listenHost)
        var targetAddress: [UInt8]?
        var targetPort: UInt16?
        if case .hostPort(let text) = open.target {
            let (host, port) = IPEndpoint.split(text)
            targetAddress = IPEndpoint.parseAddress(host)
            targetPort = port
        }

        let webSocketV6 = clientAddress.map { $0.count == 16 } ?? (listenAddress?.count == 16)
        let client =
            clientAddress.flatMap { $0.count == 16 && webSocketV6 ? IPEndpoint(address: $0, port: 0) : nil }
            ?? clientAddress.flatMap { $0.count == 4 && !webSocketV6 ? IPEndpoint(address: $0, port: 0) : nil }
            ?? IPEndpoint.documentation(1, port: 0, ipv6: webSocketV6)
        let fallbackClientPort = UInt16(50_000 + Int((session &- 1) % 10_000))
        let clientEndpoint = IPEndpoint(address: client.address, port: clientPort ?? fallbackClientPort)

        func proxyAddress(facing peer: IPEndpoint) -> [UInt8] {
            if let listenAddress, listenAddress.count == peer.address.count,
                !listenAddress.allSatisfy({ $0 == 0 })
            {
                return listenAddress
            }
            if peer.isLoopback { return peer.address }  // same host
            return IPEndpoint.documentation(2, port: 0, ipv6: peer.isIPv6).address
        }
        let proxyListen = IPEndpoint(address: proxyAddress(facing: clientEndpoint), port: listenPort ?? 6080)

        let targetV6 = targetAddress.map { $0.count == 16 } ?? webSocketV6
        let target = IPEndpoint(
            address: targetAddress ?? IPEndpoint.documentation(3, port: 0, ipv6: targetV6).address,
            port: targetPort ?? 5900)
        let proxyOutgoing = IPEndpoint(
            address: proxyAddress(facing: target), port: UInt16(49_152 + Int((session &- 1) % 16_384)))
        return Endpoints(client: clientEndpoint, proxyListen: proxyListen, proxyOutgoing: proxyOutgoing, target: target)
    }
}
