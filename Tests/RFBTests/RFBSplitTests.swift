import RFB
import Testing

@Suite("RFB session parsing survives any split of the bytes")
struct RFBSplitTests {
    /// A session with a bit of everything: VNC authentication, SetPixelFormat, SetEncodings with
    /// Extended Clipboard, cut text in both forms, updates in several encodings, fences.
    static var script: RFBScript {
        var s = RFBScript.vncAuthenticated()
        s.client(
            [0, 0, 0, 0] + pixelFormat32 + [2, 0] + u16(3) + s32(7) + s32(-224) + s32(Int32(bitPattern: 0xC0A1_E5CE)))
        s.client([3, 0] + u16(0) + u16(0) + u16(64) + u16(32) + [4, 1, 0, 0] + u32(0x61) + [4, 0, 0, 0] + u32(0x61))
        s.server(
            update(0xFFFF) + rect(0, 0, 4, 2, 0) + [UInt8](repeating: 1, count: 32)
                + rect(0, 0, 20, 17, 5) + [1] + [UInt8](repeating: 0, count: 1024) + [
                    2 | 8, 1, 1, 1, 1, 1, 0x00, 0x11, 0, 0,
                ]
                + rect(0, 0, 16, 2, 7) + [0x40, 0x01, 4] + [UInt8](repeating: 8, count: 15) + [3, 7, 7, 7]
                + rect(0, 0, 8, 8, 21) + [0xFF, 0xD8, 0xFF, 0xDA] + u16(2) + [0x12, 0xFF, 0x00, 0xFF, 0xD9]
                + rect(0, 0, 16, 16, 15) + [128, 1, 2, 3, 254, 4, 5, 6, 0] + rect(0, 0, 0, 0, -224))
        s.client([6, 0, 0, 0] + u32(3) + ascii("abc") + [5, 1] + u16(5) + u16(6))
        s.server(
            [3, 0, 0, 0] + s32(-8) + u32(1 << 28 | 1) + [1, 2, 3, 4] + [248, 0, 0, 0] + u32(1 << 31) + [1, 9] + [2])
        s.client([248, 0, 0, 0] + u32(0) + [1, 9])
        return s
    }

    @Test("the script parses completely: no problem, every byte in a message")
    func complete() {
        let events = Self.script.parse()
        #expect(events.allSatisfy { $0.parsedMessage != nil }, "\(events.filter { $0.parsedMessage == nil })")
        for direction in RFBDirection.allCases {
            let messages = events.compactMap(\.parsedMessage).filter { $0.direction == direction }
            var offset: UInt64 = 0
            for message in messages {
                #expect(message.offset == offset)
                offset += message.length
            }
            #expect(offset == Self.script.totals[direction])
        }
    }

    @Test("byte at a time, and every single cut of every recorded chunk, give the same events")
    func everyCut() {
        let script = Self.script
        let whole = script.parse()
        #expect(script.parse { $0.map { [$0] } } == whole)
        for (index, event) in script.events.enumerated() where event.bytes.count > 1 {
            for cut in 1..<event.bytes.count {
                let events = script.parse(cutting: index, at: cut)
                #expect(events == whole, "chunk \(index) cut at \(cut)")
                if events != whole { return }
            }
        }
    }

    @Test("one whole side fed before the other: each side's messages are the same (the waiting side catches up)")
    func oneSideFirst() {
        // 3.8: the client's stream needs nothing from the server, the server's needs the client's.
        let script = Self.script
        var clientFirst = RFBScript()
        clientFirst.events =
            script.events.filter { $0.direction == .clientToServer }
            + script.events.filter { $0.direction == .serverToClient }
        // 3.3: the server picks the security type, so the client waits for it.
        var v33 = RFBScript()
        v33.server(
            ascii("RFB 003.003\n") + u32(2) + [UInt8](repeating: 7, count: 16) + u32(0) + u16(2) + u16(2)
                + pixelFormat32 + u32(0) + [2])
        v33.client(ascii("RFB 003.003\n") + [UInt8](repeating: 8, count: 16) + [1] + [4, 1, 0, 0] + u32(0x61))
        var serverFirst = RFBScript()
        serverFirst.events = v33.events.reversed()
        for (recorded, reordered) in [(script, clientFirst), (serverFirst, v33)] {
            let a = recorded.parse().compactMap(\.parsedMessage)
            let b = reordered.parse().compactMap(\.parsedMessage)
            #expect(a.count == b.count && a.count >= 10)
            for direction in RFBDirection.allCases {
                #expect(a.filter { $0.direction == direction } == b.filter { $0.direction == direction })
            }
        }
    }

    @Test("random splits into many pieces give the same events")
    func randomSplits() {
        let script = Self.script
        let whole = script.parse()
        for round in 0..<200 {
            var piece = 0
            let events = script.parse { bytes in
                var pieces: [[UInt8]] = []
                var start = 0
                while start < bytes.count {
                    // Lengths 1 to 41 in an order that changes with the round and the piece.
                    piece += 1
                    let length = (round * 7 + piece * piece * 13) % 41 + 1
                    pieces.append(Array(bytes[start..<min(bytes.count, start + length)]))
                    start += length
                }
                return pieces
            }
            #expect(events == whole, "round \(round)")
            if events != whole { return }
        }
    }
}
