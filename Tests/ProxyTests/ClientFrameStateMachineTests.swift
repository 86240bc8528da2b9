import NIOCore
import Proxy
import RecordFormat
import Testing
import TestSupport
import WebSocketWire

@Suite("Client frame state machine")
struct ClientFrameStateMachineTests {
    /// Feeds `frames` and returns every action up to the first `.needMoreData` after all input.
    func run(
        _ frames: [ByteBuffer], mode: PayloadMode = .binary, max: Int = 1 << 20
    ) -> [ClientFrameStateMachine.Action] {
        var machine = ClientFrameStateMachine(maxMessageSize: max, mode: mode)
        var buffer = ByteBuffer()
        for var frame in frames { buffer.writeBuffer(&frame) }
        var actions: [ClientFrameStateMachine.Action] = []
        while true {
            let action = machine.next(&buffer)
            if action == .needMoreData { break }
            actions.append(action)
        }
        return actions
    }

    func failCode(_ actions: [ClientFrameStateMachine.Action]) -> UInt16? {
        if case .fail(let code, _) = actions.last { return code }
        return nil
    }

    @Test("a masked binary frame is unmasked and forwarded")
    func binaryFrame() {
        let actions = run([clientFrame(opcode: 2, payload: [1, 2, 3, 4, 5])])
        #expect(actions.count == 1)
        guard case .data(let opcode, let fin, let payload, let forward) = actions.first else {
            Issue.record("expected data, got \(actions)")
            return
        }
        #expect(opcode == .binary && fin)
        #expect(bytes(payload) == [1, 2, 3, 4, 5])
        #expect(forward.map(bytes) == [1, 2, 3, 4, 5])
    }

    @Test("byte-by-byte feeding gives the same frames as one batch")
    func byteByByte() {
        let frames = [
            clientFrame(opcode: 2, payload: Array(repeating: 7, count: 300)),
            clientFrame(opcode: 9, payload: [1, 2]),
            clientFrame(opcode: 2, payload: Array(repeating: 1, count: 70000)),
        ]
        let batch = run(frames)
        var machine = ClientFrameStateMachine(maxMessageSize: 1 << 20, mode: .binary)
        var all = ByteBuffer()
        for var f in frames { all.writeBuffer(&f) }
        var buffer = ByteBuffer()
        var actions: [ClientFrameStateMachine.Action] = []
        for byte in all.readableBytesView {
            buffer.writeInteger(byte)
            while true {
                let action = machine.next(&buffer)
                if action == .needMoreData { break }
                actions.append(action)
            }
        }
        #expect(actions == batch)
        #expect(actions.count == 3)
    }

    @Test("every cut of a stream into two reads gives the same frames, and each read is taken whole")
    func everyCut() {
        // Headers with 7-, 16- and 64-bit lengths, so cuts fall inside each kind of header and
        // inside payloads at every masking-key offset.
        let frames = [
            clientFrame(opcode: 2, payload: (0..<37).map { UInt8($0) }),
            clientFrame(opcode: 2, payload: (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }, fin: false),
            clientFrame(opcode: 0, payload: (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 13) }),
            clientFrame(opcode: 9, payload: [9, 8, 7]),
        ]
        let batch = run(frames)
        #expect(batch.count == 4)
        var all = ByteBuffer()
        for var f in frames { all.writeBuffer(&f) }
        let stream = bytes(all)
        let cuts = Array(0..<400) + Array(stream.count - 400...stream.count) + [30_000, 40_001, 50_002, 60_003]
        for cut in cuts {
            var machine = ClientFrameStateMachine(maxMessageSize: 1 << 20, mode: .binary)
            var actions: [ClientFrameStateMachine.Action] = []
            for part in [stream[..<cut], stream[cut...]] {
                var buffer = ByteBuffer(bytes: part)
                while true {
                    let action = machine.next(&buffer)
                    if action == .needMoreData { break }
                    actions.append(action)
                }
                #expect(buffer.readableBytes == 0, "cut \(cut): bytes left behind")
            }
            #expect(actions == batch, "cut \(cut)")
        }
    }

    @Test("a payload arriving in reads of every size is unmasked with the right key offsets")
    func payloadInPieces() {
        let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) }
        let frame = bytes(clientFrame(opcode: 2, payload: payload, key: [0xA1, 0x00, 0x5C, 0xFF]))
        for size in [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 63, 333] {
            var machine = ClientFrameStateMachine(maxMessageSize: 1 << 20, mode: .binary)
            var got: [UInt8]?
            var offset = 0
            while offset < frame.count {
                var buffer = ByteBuffer(bytes: frame[offset..<min(frame.count, offset + size)])
                offset += size
                while true {
                    let action = machine.next(&buffer)
                    if action == .needMoreData { break }
                    if case .data(_, _, let data, _) = action { got = bytes(data) }
                }
            }
            #expect(got == payload, "reads of \(size) bytes")
        }
    }

    @Test("fragmented binary message is delivered in order with FIN only on the last")
    func fragmentedBinary() throws {
        let actions = run([
            clientFrame(opcode: 2, payload: [1], fin: false),
            clientFrame(opcode: 9, payload: [0xAA]),  // control frames may interleave
            clientFrame(opcode: 0, payload: [2], fin: false),
            clientFrame(opcode: 0, payload: [3], fin: true),
        ])
        try #require(actions.count == 4)
        var forwarded: [UInt8] = []
        var fins: [Bool] = []
        for action in actions {
            if case .data(_, let fin, _, let forward?) = action {
                forwarded += bytes(forward)
                fins.append(fin)
            }
        }
        #expect(forwarded == [1, 2, 3])
        #expect(fins == [false, false, true])
        #expect(actions[1] == .ping(payload: ByteBuffer(bytes: [0xAA])))
    }

    @Test("ping is answered with the same payload; pong is just reported")
    func pingPong() {
        let actions = run([clientFrame(opcode: 9, payload: Array("hello".utf8)), clientFrame(opcode: 10, payload: [1])])
        #expect(actions == [.ping(payload: ByteBuffer(string: "hello")), .pong(payload: ByteBuffer(bytes: [1]))])
    }

    @Test("close with a valid code is reported with its reason; later bytes are ignored")
    func closeValid() {
        let actions = run([
            clientFrame(opcode: 8, payload: closePayload(1000, Array("bye".utf8))),
            clientFrame(opcode: 2, payload: [1]),
        ])
        #expect(actions.count == 1)
        guard case .close(let code, let reason, _) = actions.first else {
            Issue.record("expected close, got \(actions)")
            return
        }
        #expect(code == 1000 && reason == "bye")
    }

    @Test("empty close is reported without a code")
    func closeEmpty() {
        let actions = run([clientFrame(opcode: 8)])
        #expect(actions == [.close(code: nil, reason: "", payload: ByteBuffer())])
    }

    @Test(
        "valid close codes pass",
        arguments: [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999] as [UInt16])
    func validCloseCodes(code: UInt16) {
        let actions = run([clientFrame(opcode: 8, payload: closePayload(code))])
        guard case .close(let got, _, _) = actions.first else {
            Issue.record("expected close for \(code), got \(actions)")
            return
        }
        #expect(got == code)
    }

    @Test(
        "invalid close codes fail with 1002",
        arguments: [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] as [UInt16])
    func invalidCloseCodes(code: UInt16) {
        #expect(failCode(run([clientFrame(opcode: 8, payload: closePayload(code))])) == 1002)
    }

    @Test("close with a 1-byte payload fails with 1002")
    func closeOneByte() {
        #expect(failCode(run([clientFrame(opcode: 8, payload: [3])])) == 1002)
    }

    @Test("close reason that is not UTF-8 fails with 1007")
    func closeBadReason() {
        #expect(failCode(run([clientFrame(opcode: 8, payload: closePayload(1000, [0xC3, 0x28]))])) == 1007)
    }

    @Test("unmasked client frame fails with 1002")
    func unmasked() {
        #expect(failCode(run([clientFrame(opcode: 2, payload: [1, 2], masked: false)])) == 1002)
    }

    @Test("RSV bits set fail with 1002", arguments: [1, 2, 4, 7] as [UInt8])
    func rsvBits(rsv: UInt8) {
        #expect(failCode(run([clientFrame(opcode: 2, payload: [1], rsv: rsv)])) == 1002)
    }

    @Test("reserved opcodes fail with 1002", arguments: [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] as [UInt8])
    func reservedOpcodes(opcode: UInt8) {
        #expect(failCode(run([clientFrame(opcode: opcode, payload: [1])])) == 1002)
    }

    @Test("control frame over 125 bytes fails with 1002", arguments: [8, 9, 10] as [UInt8])
    func longControl(opcode: UInt8) {
        #expect(failCode(run([clientFrame(opcode: opcode, payload: Array(repeating: 0, count: 126))])) == 1002)
    }

    @Test("fragmented control frame fails with 1002", arguments: [8, 9, 10] as [UInt8])
    func fragmentedControl(opcode: UInt8) {
        #expect(failCode(run([clientFrame(opcode: opcode, payload: [], fin: false)])) == 1002)
    }

    @Test("continuation without a started message fails with 1002")
    func continuationWithoutStart() {
        #expect(failCode(run([clientFrame(opcode: 0, payload: [1])])) == 1002)
    }

    @Test("a new data message inside a fragmented one fails with 1002")
    func newMessageInsideFragmented() {
        let actions = run([clientFrame(opcode: 2, payload: [1], fin: false), clientFrame(opcode: 2, payload: [2])])
        #expect(failCode(actions) == 1002)
        let text = run([clientFrame(opcode: 1, payload: [0x41], fin: false), clientFrame(opcode: 2, payload: [2])])
        #expect(failCode(text) == 1002)
    }

    @Test("64-bit length with the top bit set fails with 1002")
    func topBitLength() {
        #expect(failCode(run([clientFrame(opcode: 2, declaredLength: 1 << 63)])) == 1002)
    }

    @Test("a declared 1 TiB frame fails with 1009 from its header alone")
    func hugeDeclaredLength() {
        // Only the 14 header bytes exist: the verdict can't have waited for (or allocated) the payload.
        let header = clientFrame(opcode: 2, declaredLength: 1 << 40)
        #expect(header.readableBytes == 14)
        #expect(failCode(run([header], max: 64 << 20)) == 1009)
    }

    @Test("a message over the maximum fails with 1009, also when only its fragments add up")
    func tooBig() {
        #expect(failCode(run([clientFrame(opcode: 2, payload: Array(repeating: 0, count: 101))], max: 100)) == 1009)
        let fragments = run(
            [
                clientFrame(opcode: 2, payload: Array(repeating: 0, count: 60), fin: false),
                clientFrame(opcode: 0, payload: Array(repeating: 0, count: 60)),
            ], max: 100)
        #expect(fragments.count == 2)
        #expect(failCode(fragments) == 1009)
        // Exactly the maximum is fine.
        #expect(failCode(run([clientFrame(opcode: 2, payload: Array(repeating: 0, count: 100))], max: 100)) == nil)
    }

    @Test("text that is not UTF-8 fails with 1007 in base64 mode, even split across fragments")
    func invalidUTF8() {
        #expect(failCode(run([clientFrame(opcode: 1, payload: [0x41, 0xFF])], mode: .base64)) == 1007)
        // A valid 2-byte character split across fragments is fine in binary mode...
        let split = run(
            [clientFrame(opcode: 1, payload: [0xC3], fin: false), clientFrame(opcode: 0, payload: [0xA9])],
            mode: .binary)
        #expect(failCode(split) == nil)
        #expect(forwarded(split) == [0xC3, 0xA9])
        // ...and a truncated one is not.
        #expect(failCode(run([clientFrame(opcode: 1, payload: [0x41, 0xC3])], mode: .base64)) == 1007)
    }

    /// Everything the actions forward to the target, in order.
    func forwarded(_ actions: [ClientFrameStateMachine.Action]) -> [UInt8] {
        actions.flatMap { action -> [UInt8] in
            if case .data(_, _, _, let forward?) = action { return bytes(forward) }
            return []
        }
    }

    /// Feeds `frames` one at a time; returns the actions each frame's bytes produced.
    func perFrame(_ frames: [ByteBuffer], mode: PayloadMode) -> [[ClientFrameStateMachine.Action]] {
        var machine = ClientFrameStateMachine(maxMessageSize: 1 << 20, mode: mode)
        return frames.map { frame in
            var buffer = frame
            var actions: [ClientFrameStateMachine.Action] = []
            while case let action = machine.next(&buffer), action != .needMoreData { actions.append(action) }
            return actions
        }
    }

    @Test(
        "invalid UTF-8 fails with 1007 at the fragment holding it, before the message ends (RFC 6455 §8.1)",
        arguments: PayloadMode.allCases)
    func invalidUTF8FailsFast(mode: PayloadMode) {
        // Bytes no UTF-8 text may hold, and the offset in them of the first impossible byte: a lone
        // continuation byte, an overlong "/" (2- and 3-byte), a surrogate (U+D800), U+110000, a
        // 2-byte lead cut short by ASCII, FF.
        let cases: [([UInt8], Int)] = [
            ([0x80], 0), ([0xC0, 0xAF], 0), ([0xE0, 0x80, 0xAF], 1), ([0xED, 0xA0, 0x80], 1),
            ([0xF4, 0x90, 0x80, 0x80], 1), ([0xC3, 0x41], 1), ([0xFF], 0),
        ]
        for (bad, at) in cases {
            let results = perFrame(
                [
                    clientFrame(opcode: 1, payload: Array("QUJD".utf8), fin: false),
                    clientFrame(opcode: 0, payload: Array("QUJD".utf8), fin: false),
                    clientFrame(opcode: 0, payload: Array("QU".utf8) + bad + Array("JD".utf8), fin: false),
                    clientFrame(opcode: 0, payload: Array("QUJD".utf8), fin: true),
                ], mode: mode)
            #expect(failCode(results[0]) == nil && failCode(results[1]) == nil, "\(bad)")
            // 8 bytes in the first two fragments, then "QU".
            let failure = ClientFrameStateMachine.Action.fail(
                code: 1007, reason: "invalid UTF-8 at byte \(10 + at) of a text message")
            #expect(results[2] == [failure], "\(bad)")
            #expect(results[3].isEmpty, "\(bad): nothing is parsed after the failure")
        }
    }

    @Test("invalid UTF-8 fails with 1007 while its frame is still arriving", arguments: PayloadMode.allCases)
    func invalidUTF8InsideFrame(mode: PayloadMode) {
        var machine = ClientFrameStateMachine(maxMessageSize: 1 << 20, mode: mode)
        let payload = Array("QUJD".utf8) + [0xED, 0xBF, 0xBF] + Array(repeating: UInt8(ascii: "A"), count: 993)
        let frame = bytes(clientFrame(opcode: 1, payload: payload))
        // The header and the first 20 payload bytes only: the other 980 never come.
        var buffer = ByteBuffer(bytes: frame[..<(frame.count - 980)])
        let action = machine.next(&buffer)
        #expect(action == .fail(code: 1007, reason: "invalid UTF-8 at byte 5 of a text message"))
    }

    @Test("a character split between fragments at every position is relayed whole")
    func characterSplitAtEveryPosition() {
        for character in ["\u{E9}", "\u{20AC}", "\u{FFFD}", "\u{1F600}", "\u{10FFFF}"] {
            let text = Array("a\(character)b".utf8)
            for first in 0...text.count {
                for second in first...text.count {
                    // Three fragments, with a ping between the first two.
                    let actions = run([
                        clientFrame(opcode: 1, payload: Array(text[..<first]), fin: false),
                        clientFrame(opcode: 9, payload: [1]),
                        clientFrame(opcode: 0, payload: Array(text[first..<second]), fin: false),
                        clientFrame(opcode: 0, payload: Array(text[second...])),
                    ])
                    #expect(
                        failCode(actions) == nil && forwarded(actions) == text,
                        "\(character) cut at \(first), \(second)")
                }
            }
        }
    }

    @Test("in binary mode each text fragment is relayed as it arrives, not copied", arguments: [1, 64, 1000])
    func textFragmentsRelayedAsTheyCome(size: Int) {
        let text = Array(String(repeating: "d\u{E9}j\u{E0} \u{1F600} ", count: 200).utf8)
        let pieces = stride(from: 0, to: text.count, by: size).map { Array(text[$0..<min(text.count, $0 + size)]) }
        let results = perFrame(
            pieces.enumerated().map { index, piece in
                clientFrame(opcode: index == 0 ? 1 : 0, payload: piece, fin: index == pieces.count - 1)
            }, mode: .binary)
        for (index, actions) in results.enumerated() {
            guard actions.count == 1, case .data(_, _, let payload, let forward?) = actions[0] else {
                Issue.record("fragment \(index): \(actions)")
                return
            }
            #expect(bytes(forward) == pieces[index])
            // The very bytes of the frame (same storage): no reassembly, no copy.
            let same = payload.withUnsafeReadableBytes { p in
                forward.withUnsafeReadableBytes { $0.baseAddress == p.baseAddress }
            }
            #expect(same, "fragment \(index) was copied")
        }
    }

    @Test(
        "a text message that ends inside a character fails with 1007 at its last frame", arguments: PayloadMode.allCases
    )
    func textEndsInsideCharacter(mode: PayloadMode) {
        for cut: [UInt8] in [[0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98]] {
            let results = perFrame(
                [
                    clientFrame(opcode: 1, payload: Array("QUJD".utf8) + cut, fin: false),
                    clientFrame(opcode: 0, payload: [], fin: true),
                ],
                mode: mode)
            #expect(failCode(results[0]) == nil, "the character may still be completed")
            #expect(results[1] == [.fail(code: 1007, reason: "text message ends inside a UTF-8 character")])
            #expect(failCode(run([clientFrame(opcode: 1, payload: cut)], mode: mode)) == 1007, "unfragmented: \(cut)")
        }
    }

    @Test("base64 text is decoded before forwarding, also when fragmented")
    func base64Decode() throws {
        let actions = run(
            [
                clientFrame(opcode: 1, payload: Array("aGVs".utf8), fin: false),
                clientFrame(opcode: 0, payload: Array("bG8=".utf8)),
            ], mode: .base64)
        try #require(actions.count == 2)
        guard case .data(_, false, _, nil) = actions[0], case .data(_, true, _, let forward?) = actions[1] else {
            Issue.record("unexpected actions \(actions)")
            return
        }
        #expect(bytes(forward) == Array("hello".utf8))
    }

    @Test("whitespace in base64 text is ignored")
    func base64Whitespace() {
        let actions = run([clientFrame(opcode: 1, payload: Array("aGVs\r\nbG8=\n".utf8))], mode: .base64)
        guard case .data(_, true, _, let forward?) = actions.first else {
            Issue.record("unexpected actions \(actions)")
            return
        }
        #expect(bytes(forward) == Array("hello".utf8))
    }

    @Test("invalid base64 fails with 1007")
    func invalidBase64() {
        #expect(failCode(run([clientFrame(opcode: 1, payload: Array("@@@".utf8))], mode: .base64)) == 1007)
    }

    @Test("nothing is parsed after a failure")
    func closedAfterFailure() {
        var machine = ClientFrameStateMachine(maxMessageSize: 100, mode: .binary)
        var buffer = clientFrame(opcode: 3)
        var rest = clientFrame(opcode: 2, payload: [1])
        buffer.writeBuffer(&rest)
        guard case .fail = machine.next(&buffer) else {
            Issue.record("expected failure")
            return
        }
        #expect(machine.isClosed)
        #expect(machine.next(&buffer) == .needMoreData)
    }
}

@Suite("Client frame state machine on arbitrary input")
struct ClientFrameStateMachineFuzzTests {
    func actions(_ input: [UInt8], chunks: [Int], mode: PayloadMode) -> [ClientFrameStateMachine.Action] {
        var machine = ClientFrameStateMachine(maxMessageSize: 4096, mode: mode)
        var buffer = ByteBuffer()
        var out: [ClientFrameStateMachine.Action] = []
        var offset = 0
        for size in chunks + [input.count] where offset < input.count {
            let end = min(input.count, offset + size)
            buffer.writeBytes(input[offset..<end])
            offset = end
            while true {
                let action = machine.next(&buffer)
                if action == .needMoreData { break }
                out.append(action)
            }
        }
        return out
    }

    @Test("random streams of valid and broken frames give the same actions however they are split")
    func splitInvariance() {
        var rng = SplitMix(state: 42)
        for round in 0..<200 {
            // Mostly well-formed frames with random flags, opcodes and lengths, sometimes raw noise.
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                if Int.random(in: 0..<10, using: &rng) == 0 {
                    input += (0..<Int.random(in: 1...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng)
                    }
                    continue
                }
                let opcode = [0, 1, 2, 8, 9, 10, 3][Int.random(in: 0..<7, using: &rng)]
                let length = [0, 1, 2, 125, 126, 300, 70000][Int.random(in: 0..<7, using: &rng)]
                let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let frame = clientFrame(
                    opcode: UInt8(opcode), payload: payload, fin: Bool.random(using: &rng),
                    rsv: Int.random(in: 0..<8, using: &rng) == 0 ? 1 : 0,
                    masked: Int.random(in: 0..<12, using: &rng) != 0)
                input += bytes(frame)
            }
            let mode: PayloadMode = round % 2 == 0 ? .binary : .base64
            let whole = actions(input, chunks: [input.count], mode: mode)
            let chunks = (0..<50).map { _ in Int.random(in: 1...200, using: &rng) }
            #expect(actions(input, chunks: chunks, mode: mode) == whole, "round \(round)")
            #expect(actions(input, chunks: Array(repeating: 1, count: min(input.count, 400)), mode: mode) == whole)
        }
    }
}
