import Foundation
import RecordFormat
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordTools

/// Runs tshark (installed by scripts/install-deps) and returns its standard output; its stderr
/// (e.g. the warning about running as root) is ignored unless it fails.
func tshark(_ arguments: [String]) throws -> String {
    let path = try #require(
        ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) },
        "tshark is installed by scripts/install-deps")
    let result = try run(path, ["-o", "gui.console_open:NEVER"] + arguments)
    #expect(result.status == 0, "tshark \(arguments): \(result.stderr)")
    return result.stdout
}

/// tshark's `-T fields` output as rows of tab-separated fields.
func tsharkFields(_ file: String, filter: String, _ fields: [String], extra: [String] = []) throws -> [[String]] {
    let output = try tshark(
        ["-r", file, "-Y", filter, "-T", "fields", "-E", "occurrence=a"] + extra + fields.flatMap { ["-e", $0] })
    let rows = output.split(separator: "\n", omittingEmptySubsequences: true).map {
        $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    }
    try #require(rows.allSatisfy { $0.count == fields.count }, "tshark rows of \(fields.count) fields: \(output)")
    return rows
}

private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

@Suite("export --pcapng: synthesized packets")
struct PacketSynthesisTests {
    @Test("WebSocket frames are encoded as in the examples of RFC 6455 §5.7")
    func frameEncoding() {
        let hello = Frame(direction: .targetToClient, opcode: .text, payload: Array("Hello".utf8))
        #expect(SyntheticWebSocketBytes.encode(hello, maskKey: nil) == [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        #expect(
            SyntheticWebSocketBytes.encode(hello, maskKey: (0x37, 0xFA, 0x21, 0x3D))
                == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        let fragment = Frame(direction: .targetToClient, opcode: .text, payload: Array("Hel".utf8), isFinal: false)
        #expect(SyntheticWebSocketBytes.encode(fragment, maskKey: nil) == [0x01, 0x03, 0x48, 0x65, 0x6C])
        let medium = Frame(direction: .targetToClient, opcode: .binary, payload: [UInt8](repeating: 7, count: 256))
        #expect(Array(SyntheticWebSocketBytes.encode(medium, maskKey: nil).prefix(4)) == [0x82, 0x7E, 0x01, 0x00])
        let large = Frame(direction: .targetToClient, opcode: .binary, payload: [UInt8](repeating: 7, count: 65_536))
        #expect(Array(SyntheticWebSocketBytes.encode(large, maskKey: nil).prefix(10)) == [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    @Test("client frames of every length form are masked byte for byte with the key (RFC 6455 §5.3)")
    func maskedLengths() throws {
        let key: MaskKey = (0x37, 0xFA, 0x21, 0x3D)
        let keyBytes: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        for count in [0, 1, 15, 16, 17, 63, 64, 65, 125, 126, 127, 1000, 65_535, 65_536] {
            let payload = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
            let frame = Frame(direction: .clientToTarget, opcode: .binary, payload: payload)
            let wire = SyntheticWebSocketBytes.encode(frame, maskKey: key)
            let lengthBytes = count < 126 ? 0 : (count <= 0xFFFF ? 2 : 8)
            let headerSize = 2 + lengthBytes + 4
            try #require(wire.count == headerSize + count, "\(count) bytes")
            #expect(wire[0] == 0x82)
            #expect(wire[1] == 0x80 | (count < 126 ? UInt8(count) : (count <= 0xFFFF ? 126 : 127)))
            #expect(Array(wire[(headerSize - 4)..<headerSize]) == keyBytes)
            let unmasked = wire[headerSize...].enumerated().map { $0.element ^ keyBytes[$0.offset % 4] }
            #expect(unmasked == payload, "payload of \(count) bytes")
        }
    }

    @Test("IPv4 header and TCP checksums verify; IPv6 packets carry a valid TCP checksum")
    func checksums() throws {
        let a = IPEndpoint(address: [192, 0, 2, 1], port: 50_000)
        let b = IPEndpoint(address: [192, 0, 2, 2], port: 6080)
        let packet = TCPPacket.make(
            from: a, to: b, sequence: 1, acknowledgment: 2, flags: [.ack, .psh], payload: [1, 2, 3], identification: 9)
        #expect(packet.count == 43)
        #expect(TCPPacket.internetChecksum(Array(packet.prefix(20))) == 0, "IPv4 header checksum")
        var pseudo = a.address + b.address + [0, 6, 0, 23]
        pseudo += packet[20...]
        #expect(TCPPacket.internetChecksum(pseudo) == 0, "TCP checksum over the pseudo-header")

        let c = IPEndpoint(address: try #require(IPEndpoint.parseAddress("2001:db8::1")), port: 1)
        let d = IPEndpoint(address: try #require(IPEndpoint.parseAddress("::1")), port: 2)
        let v6 = TCPPacket.make(from: c, to: d, sequence: 5, acknowledgment: 0, flags: .syn)
        #expect(v6.count == 60 && v6[0] >> 4 == 6)
        #expect(TCPPacket.internetChecksum(c.address + d.address + [0, 0, 0, 20, 0, 0, 0, 6] + v6[40...]) == 0)
    }

    @Test("addresses come from the open record; the unknown become documentation addresses")
    func endpoints() {
        let records = sampleRecords()
        guard case .open(let one) = records[0].body, case .open(let two) = records[2].body else {
            Issue.record("sample records start with opens")
            return
        }
        let first = PacketSynthesizer.endpoints(for: one, session: 1)
        #expect(first.client.description == "127.0.0.1:50000")
        #expect(first.proxyListen.description == "127.0.0.1:6080", "0.0.0.0 seen from a loopback client")
        #expect(first.target.description == "[0:0:0:0:0:0:0:1]:5900")
        #expect(first.proxyOutgoing.description == "[0:0:0:0:0:0:0:1]:49152")
        let second = PacketSynthesizer.endpoints(for: two, session: 2)
        #expect(second.client.description == "[0:0:0:0:0:0:0:1]:50001")
        #expect(second.target.description == "[2001:db8:0:0:0:0:0:3]:5900", "a unix socket target")
        #expect(second.proxyOutgoing.description == "[2001:db8:0:0:0:0:0:2]:49153")
        let unknown = PacketSynthesizer.endpoints(for: SessionOpen(startWallMicros: 0), session: 1)
        #expect(
            [unknown.client, unknown.proxyListen, unknown.proxyOutgoing, unknown.target].map(\.description)
                == ["192.0.2.1:50000", "192.0.2.2:6080", "192.0.2.2:49152", "192.0.2.3:5900"])
        let named = SessionOpen(
            startWallMicros: 0, clientAddress: "10.1.2.3:4000", listenAddress: "10.1.2.4:443",
            target: .hostPort("vnc.example:5901"))
        let resolved = PacketSynthesizer.endpoints(for: named, session: 7)
        #expect(resolved.proxyListen.description == "10.1.2.4:443")
        #expect(resolved.target.description == "192.0.2.3:5901", "a host name keeps its port")
        #expect(resolved.proxyOutgoing.description == "10.1.2.4:49158")
        #expect(IPEndpoint.parseAddress("1.2.3") == nil && IPEndpoint.parseAddress("1::2::3") == nil)
        #expect(IPEndpoint.parseAddress("fe80::1%eth0") == [0xFE, 0x80] + [UInt8](repeating: 0, count: 13) + [1])
    }

    @Test("a base64 session sends the decoded bytes on the TCP side, joining fragments")
    func base64Subprotocol() throws {
        var synthesizer = PacketSynthesizer(configuration: .init(side: .tcp))
        let open = SessionOpen(startWallMicros: 1_000_000, clientAddress: "192.0.2.10:1234", subprotocol: "base64")
        _ = synthesizer.packets(for: Record(session: 1, timeMicros: 0, body: .open(open)))
        let first = synthesizer.packets(
            for: Record(
                session: 1, timeMicros: 5,
                body: .frame(
                    Frame(direction: .targetToClient, opcode: .text, payload: Array("UkZCIDAw".utf8), isFinal: false))))
        #expect(first.isEmpty, "waits for the final fragment")
        let packets = synthesizer.packets(
            for: Record(
                session: 1, timeMicros: 6,
                body: .frame(Frame(direction: .targetToClient, opcode: .continuation, payload: Array("My4wMDgK".utf8))))
        )
        try #require(packets.count == 2, "data and its acknowledgment")
        #expect(Array(packets[0].data.suffix(12)) == Array("RFB 003.008\n".utf8))
        #expect(packets[0].timestampMicros == 1_000_006)
    }

    @Test("pcapng blocks: a section header, one raw-IP interface with µs timestamps, then packets")
    func pcapngLayout() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rec = dir.appendingPathComponent("kinds.rec").path
        try writeRecording(sampleRecords(), to: rec)
        let out = dir.appendingPathComponent("kinds.pcapng").path
        let result = try PcapngExporter.export(input: rec, output: out)
        #expect(result.sessions == [1, 2])
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)))
        #expect(UInt64(bytes.count) == result.bytes)
        func u32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        var offset = 0
        var types: [UInt32] = []
        var firstTimestamp: UInt64?
        while offset < bytes.count {
            let type = u32(offset)
            let length = Int(u32(offset + 4))
            #expect(length % 4 == 0 && length >= 12)
            #expect(u32(offset + length - 4) == UInt32(length), "trailing length of block at \(offset)")
            if type == 1 {
                #expect(bytes[offset + 8] == 101 && bytes[offset + 9] == 0, "LINKTYPE_RAW")
            }
            if type == 6, firstTimestamp == nil {
                firstTimestamp = UInt64(u32(offset + 12)) << 32 | UInt64(u32(offset + 16))
            }
            types.append(type)
            offset += length
        }
        #expect(offset == bytes.count)
        #expect(Array(types.prefix(2)) == [0x0A0D_0D0A, 1])
        #expect(types.dropFirst(2).allSatisfy { $0 == 6 })
        #expect(types.count - 2 == result.packets)
        #expect(firstTimestamp == 1_764_000_000_000_000)
        #expect(u32(8) == 0x1A2B_3C4D)
    }
}

@Suite("export --pcapng: what tshark makes of it")
struct PcapExportTsharkTests {
    let inspect: String
    init() throws { inspect = try builtExecutable("wsrecord-inspect") }

    @Test("every recorded frame comes back as a WebSocket frame with its opcode, FIN, mask and payload")
    func websocketFrames() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rec = dir.appendingPathComponent("kinds.rec").path
        try writeRecording(sampleRecords(), to: rec)
        let out = dir.appendingPathComponent("kinds.pcapng").path
        let result = try run(inspect, ["export", rec, "--pcapng", "-o", out])
        #expect(result.status == 0, "\(result.stderr)")
        keepArtifact(out)
        let rows = try tsharkFields(
            out, filter: "websocket",
            [
                "websocket.fin", "websocket.opcode", "websocket.mask", "websocket.payload_length", "data.data",
                "websocket.payload.text",
                "websocket.payload.ping", "websocket.payload.pong", "websocket.payload.close.status_code",
                "tcp.srcport", "tcp.dstport",
            ])
        let frames = sampleRecords().compactMap { record -> (UInt32, Frame)? in
            if case .frame(let frame) = record.body { return (record.session, frame) }
            return nil
        }
        #expect(rows.count == frames.count)
        for (row, (session, frame)) in zip(rows, frames) {
            #expect(row[0] == (frame.isFinal ? "1" : "0"), "FIN of \(frame)")
            #expect(row[1] == String(frame.opcode.rawValue), "opcode of \(frame)")
            #expect(row[2] == (frame.direction == .clientToTarget ? "1" : "0"), "client frames are masked")
            #expect(row[3] == String(frame.payload.count))
            switch frame.opcode {
            case .binary: #expect(row[4] == hex(frame.payload), "payload of \(frame)")
            case .ping: #expect(row[6] == hex(frame.payload))
            case .pong: #expect(row[7] == hex(frame.payload))
            case .close: #expect(row[8] == "1000")
            default: break
            }
            let proxyPort = "6080"
            #expect((frame.direction == .clientToTarget ? row[10] : row[9]) == proxyPort, "session \(session)")
        }
        // The redacted frame's packets (one per side) say that their zeros are filler.
        let comments = try tsharkFields(out, filter: "frame.comment", ["frame.comment", "tcp.dstport"])
        #expect(comments.map { $0[1] } == ["6080", "5900", "6080"])
        #expect(comments.prefix(2).allSatisfy { $0[0].hasPrefix("redacted: the 8 payload bytes are filler") })
        // The marker is a comment on the next packet (session 1's close frame).
        #expect(comments.last?[0] == "marker 2025-11-24T16:00:01.000000Z: operator note: ✓ checkpoint")
        // Text split over two frames is reassembled by tshark into the recorded bytes.
        #expect(rows.contains { $0[5].hasPrefix("héllo") })
        // The HTTP upgrade carries the recorded path and subprotocol.
        let http = try tsharkFields(
            out, filter: "http.request", ["http.request.uri", "http.upgrade", "http.sec_websocket_protocol"])
        #expect(http.map { $0.joined(separator: " ") } == ["/websockify?token=a websocket binary", "/ websocket "])
        let response = try tshark([
            "-r", out, "-Y", "http.response.code == 101", "-T", "fields", "-e", "http.response.code",
        ])
        #expect(response.split(separator: "\n").count == 2)
    }

    @Test("checksums are right, TCP analysis finds nothing wrong, timestamps are wall-clock")
    func tcpIsProper() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rec = dir.appendingPathComponent("busy.rec").path
        var records = busyRecords()
        // One frame bigger than a segment: split into several packets.
        records.insert(
            Record(
                session: 1, timeMicros: 5_000_000,
                body: .frame(
                    Frame(
                        direction: .targetToClient, opcode: .binary,
                        payload: (0..<150_000).map { UInt8(truncatingIfNeeded: $0) }))),
            at: records.firstIndex { $0.session == 1 && $0.timeMicros > 5_000_000 }!)
        try writeRecording(records, to: rec)
        let out = dir.appendingPathComponent("busy.pcapng").path
        #expect(try run(inspect, ["export", "--pcapng", "-o", out, rec]).status == 0)
        keepArtifact(out)
        let checks = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"]
        let all = try tsharkFields(out, filter: "ip", ["frame.number"], extra: checks)
        let good = try tsharkFields(
            out, filter: "ip.checksum.status == 1 && tcp.checksum.status == 1", ["frame.number"], extra: checks)
        #expect(all.count > 1000)
        #expect(good.count == all.count, "every IPv4 and TCP checksum verifies")
        let suspicious = try tsharkFields(
            out, filter: "tcp.analysis.flags || _ws.malformed", ["frame.number", "_ws.expert.message"], extra: checks)
        #expect(suspicious.isEmpty, "\(suspicious.prefix(5))")
        let handshakes = try tsharkFields(out, filter: "tcp.flags.syn == 1 && tcp.flags.ack == 0", ["tcp.stream"])
        #expect(handshakes.count == 6, "two connections per session")
        let fins = try tsharkFields(out, filter: "tcp.flags.fin == 1", ["tcp.stream"])
        #expect(fins.count == 8, "both ends of both connections of the two closed sessions")
        let first = try tsharkFields(out, filter: "frame.number == 1", ["frame.time_epoch"])
        #expect(first.first?.first?.hasPrefix("1764000000.000000") == true)
        // The 150,000-byte frame: 150,010 wire bytes in three segments of at most 64,000, one WebSocket frame.
        let big = try tsharkFields(
            out, filter: "websocket.payload_length_ext_64 == 150000", ["frame.number", "tcp.len"])
        #expect(big.count == 1)
        #expect(big.first?.count == 2)
        let segments = try tsharkFields(out, filter: "websocket.payload_length_ext_64 == 150000", ["tcp.segment.count"])
        #expect(segments.first == ["3"])
        #expect(try tsharkFields(out, filter: "tcp.len > 64000", ["frame.number"]).isEmpty)
    }

    @Test("the TCP side of the legacy fixture decodes as VNC: versions, security, key events")
    func legacyVNC() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("legacy.pcapng").path
        let fixture = fixturePath("websockify-0.10-session.legacy")
        let result = try run(inspect, ["export", fixture, "--pcapng", "-o", out, "--side", "tcp"])
        #expect(result.status == 0, "\(result.stderr)")
        keepArtifact(out)
        #expect(try tsharkFields(out, filter: "websocket || http", ["frame.number"]).isEmpty, "TCP side only")
        let decode = ["-d", "tcp.port==5900,vnc"]
        let versions = try tsharkFields(
            out, filter: "vnc.server_proto_ver || vnc.client_proto_ver",
            ["vnc.server_proto_ver", "vnc.client_proto_ver"], extra: decode)
        #expect(versions.map { $0.joined(separator: "|") } == ["003.008|", "|003.008"])
        let security = try tsharkFields(
            out, filter: "vnc.client_security_type || vnc.auth_result",
            ["vnc.client_security_type", "vnc.auth_result"], extra: decode)
        #expect(security.map { $0.joined(separator: "|") } == ["1|", "|0"], "security type None chosen, then accepted")
        let keys = try tsharkFields(out, filter: "vnc.key", ["vnc.key", "vnc.key_down"], extra: decode)
        // The fixture's client sent KeyEvent messages (type 4, 8 bytes) each in a frame of its own.
        let source = try RecordSource(path: fixture)
        let keyEvents = try source.readAll().filter {
            if case .frame(let frame) = $0.body {
                return frame.direction == .clientToTarget && frame.payload.count == 8 && frame.payload[0] == 4
            }
            return false
        }
        #expect(!keyEvents.isEmpty)
        #expect(keys.count == keyEvents.count)
        #expect(
            keys.filter { $0[1] == "1" }.count == keys.filter { $0[1] == "0" }.count, "every key pressed is released")
        // Every payload byte is there, in order, on each side.
        let follow = try tshark(["-r", out, "-q", "-z", "follow,tcp,raw,0"])
        let recorded = try RecordSource(path: fixture).readAll()
        let fromTarget = recorded.compactMap { r -> [UInt8]? in
            if case .frame(let f) = r.body, f.direction == .targetToClient { return f.payload }
            return nil
        }.flatMap { $0 }
        let followedServer = follow.split(separator: "\n").filter { $0.hasPrefix("\t") }.map { $0.dropFirst() }.joined()
        #expect(followedServer == hex(fromTarget))
    }

    @Test("--session and --side choose what is exported; bad choices exit 2 and leave no file")
    func choices() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rec = dir.appendingPathComponent("kinds.rec").path
        try writeRecording(sampleRecords(), to: rec)
        let two = dir.appendingPathComponent("two.pcapng").path
        #expect(
            try run(inspect, ["export", rec, "--pcapng", "-o", two, "--session", "2", "--side", "websocket"]).status
                == 0)
        let streams = try tsharkFields(
            two, filter: "tcp.flags.syn == 1 && tcp.flags.ack == 0", ["ipv6.src", "tcp.dstport"])
        #expect(streams.map { $0.joined(separator: " ") } == ["::1 6080"])
        let missing = dir.appendingPathComponent("missing.pcapng").path
        let refused = try run(inspect, ["export", rec, "--pcapng", "-o", missing, "--session", "9"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("no session 9"))
        #expect(!FileManager.default.fileExists(atPath: missing))
        let again = try run(inspect, ["export", rec, "--pcapng", "-o", two])
        #expect(again.status == 2, "never overwrites")
        #expect(try run(inspect, ["export", rec, "-o", missing]).status == 2, "a format is required")
        #expect(try run(inspect, ["export", rec, "--pcapng", "-o", missing, "--side", "udp"]).status == 2)

        // A torn file: everything readable is exported, with a warning and exit 3.
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 64
        let bytes = try writeRecording(
            sampleRecords(), to: dir.appendingPathComponent("whole.rec").path, configuration: configuration)
        let blocks = try decodeAll(bytes, chunk: bytes.count).blocks
        try #require(blocks.count > 4, "blocks decoded: \(blocks.count)")
        let torn = dir.appendingPathComponent("torn.rec").path
        try Data(bytes.prefix(Int(blocks[4].offset) + 10)).write(to: URL(fileURLWithPath: torn))
        let tornOut = dir.appendingPathComponent("torn.pcapng").path
        let damaged = try run(inspect, ["export", torn, "--pcapng", "-o", tornOut])
        #expect(damaged.status == 3)
        #expect(damaged.stderr.contains("truncated at byte \(blocks[4].offset)"))
        let readableFrames = try decodeAll(Array(bytes.prefix(Int(blocks[4].offset))), chunk: bytes.count).records
            .filter {
                if case .frame = $0.body { return true }
                return false
            }
        #expect(try tsharkFields(tornOut, filter: "websocket", ["websocket.opcode"]).count == readableFrames.count)
    }
}
