import Foundation
import RFB
import RFBRules
import RecordFormat
import RecordTools
import Testing
import WebSocketWire

private func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
private func u32(_ value: UInt32) -> [UInt8] { u16(UInt16(value >> 16)) + u16(UInt16(value & 0xFFFF)) }
private func s32(_ value: Int32) -> [UInt8] { u32(UInt32(bitPattern: value)) }

/// A recorded RFB session written by hand: RFB 3.8, security None, ServerInit 800x600 "desk"
/// (32 bpp), then whatever the test adds; each call is one frame, 10 ms (or `step`) after the last.
private struct RFBSession {
    var records: [Record]
    var time: UInt64 = 0
    let step: UInt64
    let number: UInt32

    static let tight: Int32 = 7
    static let raw: Int32 = 0

    init(number: UInt32 = 1, step: UInt64 = 10_000, encodings: [Int32] = [tight, raw, -223]) {
        self.number = number
        self.step = step
        records = [Record(session: number, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 1)))]
        server(Array("RFB 003.008\n".utf8))
        client(Array("RFB 003.008\n".utf8))
        server([1, 1])
        client([1])
        server(u32(0))
        client([1])
        server(
            u16(800) + u16(600) + [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0] + u32(4)
                + Array("desk".utf8))
        setEncodings(encodings)
    }

    mutating func frame(_ direction: Direction, _ bytes: [UInt8]) {
        time += step
        records.append(
            Record(
                session: number, timeMicros: time,
                body: .frame(Frame(direction: direction, opcode: .binary, payload: bytes))))
    }

    mutating func client(_ bytes: [UInt8]) { frame(.clientToTarget, bytes) }
    mutating func server(_ bytes: [UInt8]) { frame(.targetToClient, bytes) }

    mutating func setEncodings(_ encodings: [Int32]) {
        client([2, 0] + u16(UInt16(encodings.count)) + encodings.flatMap(s32))
    }
    mutating func request(incremental: Bool = true) {
        client([3, incremental ? 1 : 0] + u16(0) + u16(0) + u16(800) + u16(600))
    }
    mutating func pointer(_ x: UInt16, _ y: UInt16, buttons: UInt8 = 0) { client([5, buttons] + u16(x) + u16(y)) }
    /// A key pressed and released, as two frames.
    mutating func type(_ keysym: UInt32) {
        client([4, 1, 0, 0] + u32(keysym))
        client([4, 0, 0, 0] + u32(keysym))
    }
    /// A FramebufferUpdate of Tight rectangles: `fill` sends each as a solid fill (4 bytes),
    /// otherwise as JPEG data of `jpegBytes` bytes: the same screen change, other pixel bytes.
    mutating func update(_ rects: [(UInt16, UInt16, UInt16, UInt16)], fill: Bool = true, jpegBytes: Int = 100) {
        var bytes: [UInt8] = [0, 0] + u16(UInt16(rects.count))
        for (x, y, w, h) in rects {
            bytes += u16(x) + u16(y) + u16(w) + u16(h) + s32(Self.tight)
            bytes += fill ? [0x80, 1, 2, 3] : [0x90, UInt8(jpegBytes)] + [UInt8](repeating: 0xAB, count: jpegBytes)
        }
        server(bytes)
    }
    mutating func close() {
        time += step
        records.append(
            Record(session: number, timeMicros: time, body: .close(SessionClose(closedBy: .client, code: 1000))))
    }
}

/// Keysyms of `text` (ASCII: the keysym is the code) and Return.
private func keys(_ text: String) -> [UInt32] { text.unicodeScalars.map(\.value) + [0xFF0D] }

/// One run of a scripted interaction: the same keys, with `requests` FramebufferUpdateRequests
/// and `moves` pointer moves spread over it, at another pace, the screen updated in other pieces.
private func run(
    typing keysyms: [UInt32], requests: Int, moves: Int, step: UInt64, fill: Bool = true, encodings: [Int32]? = nil
) -> [Record] {
    var s = encodings.map { RFBSession(step: step, encodings: $0) } ?? RFBSession(step: step)
    s.request(incremental: false)
    s.update([(0, 0, 800, 600)], fill: fill)
    for (i, keysym) in keysyms.enumerated() {
        if i < moves { s.pointer(UInt16(100 + i * 7), UInt16(50 + i * 3)) }
        s.type(keysym)
        for _ in 0..<(i < requests ? 1 : 0) { s.request() }
        s.update([(UInt16(i * 8), 0, 8, 16)], fill: fill, jpegBytes: 50 + i)
    }
    for _ in keysyms.count..<max(keysyms.count, requests) { s.request() }
    s.close()
    return s.records
}

private func write(_ records: [Record], _ path: String) throws {
    let writer = try RecordFileWriter(path: path)
    for record in records { try writer.append(record) }
    try writer.close()
}

/// Writes A's records and lets `writeB` write B, in a fresh directory, and compares them.
private func compare(
    _ a: [Record], writeB: (RecordFileWriter) throws -> Void, _ options: RecordDiff.Options
) throws -> RecordDiff.Report {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wsdiff-rfb-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let pathA = dir.appendingPathComponent("a.rec").path
    let pathB = dir.appendingPathComponent("b.rec").path
    try write(a, pathA)
    let writer = try RecordFileWriter(path: pathB)
    try writeB(writer)
    try writer.close()
    return try RecordDiff.compare(pathA, pathB, options: options)
}

/// Writes A and B into a fresh directory and compares them.
private func compare(_ a: [Record], _ b: [Record], _ options: RecordDiff.Options) throws -> RecordDiff.Report {
    try compare(a, writeB: { writer in for record in b { try writer.append(record) } }, options)
}

private func stream(_ report: RecordDiff.Report, _ direction: Direction) throws -> RecordDiff.StreamResult {
    try #require(report.streams.first { $0.direction == direction })
}

@Suite("diff --rfb")
struct RecordDiffRFBTests {
    @Test("two runs of the same typing, with other FramebufferUpdateRequests, pointer moves and pace, are the same")
    func sameInteraction() throws {
        let a = run(typing: keys("echo hi"), requests: 3, moves: 5, step: 10_000)
        let b = run(typing: keys("echo hi"), requests: 8, moves: 1, step: 13_000)
        let client = RecordDiff.Options(rfb: true, direction: .clientToTarget)
        let report = try compare(a, b, client)
        #expect(report.isSame)
        #expect(report.streams.count == 1, "--direction client compares only the client stream")
        let rfb = try #require(try stream(report, .clientToTarget).rfb)
        // ProtocolVersion, SecurityChoice, ClientInit, SetEncodings, 16 keys down and up.
        #expect(rfb.comparedA == 20 && rfb.comparedB == 20 && rfb.matched == 20)
        #expect(rfb.ignoredA == ["FramebufferUpdateRequest": 4, "PointerEvent": 5])
        #expect(rfb.ignoredB == ["FramebufferUpdateRequest": 9, "PointerEvent": 1])
        // As bytes (or without the rules' defaults) they differ.
        #expect(!(try compare(a, b, .init(direction: .clientToTarget)).isSame))
        var checkEverything = RFBRuleSet()
        checkEverything.set("FramebufferUpdateRequest", .check)
        checkEverything.set("PointerEvent", .check)
        #expect(!(try compare(a, b, .init(rfb: true, direction: .clientToTarget, rules: checkEverything)).isSame))
    }

    @Test("a different key is one change, named by its keysym, with message index, offset and times")
    func changedKey() throws {
        let a = run(typing: keys("echo hi"), requests: 3, moves: 2, step: 10_000)
        let b = run(typing: keys("echp hi"), requests: 5, moves: 4, step: 10_000)
        let report = try compare(a, b, .init(rfb: true, direction: .clientToTarget))
        #expect(!report.isSame)
        let rfb = try #require(try stream(report, .clientToTarget).rfb)
        #expect(rfb.changed == 2 && rfb.onlyInA == 0 && rfb.onlyInB == 0, "the press and the release")
        let first = try #require(rfb.differences.first)
        #expect(first.kind == .changed)
        #expect(first.a?.message == .keyEvent(down: true, keysym: RFBKeysym(0x6F)))
        #expect(first.b?.message == .keyEvent(down: true, keysym: RFBKeysym(0x70)))
        let text = RecordDiffFormatter.text(report, pathA: "a.rec", pathB: "b.rec")
        #expect(text.contains("changed: KeyEvent 'o' (0x6f) down vs KeyEvent 'p' (0x70) down at message #"), "\(text)")
        #expect(text.contains("2 changed, 0 only in A, 0 only in B"), "\(text)")
        // Where: A's and B's positions differ (other numbers of ignored messages before it).
        let a0 = try #require(first.a)
        let b0 = try #require(first.b)
        #expect(text.contains("#\(a0.index) / #\(b0.index) (client offset \(a0.offset) / \(b0.offset), "), "\(text)")
        let json = RecordDiffFormatter.json(report, pathA: "a.rec", pathB: "b.rec")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let streams = try #require(parsed["streams"] as? [[String: Any]])
        let rfbJSON = try #require(streams.first?["rfb"] as? [String: Any])
        #expect(rfbJSON["changed"] as? Int == 2)
        let differences = try #require(rfbJSON["differences"] as? [[String: Any]])
        let messageA = try #require((differences.first?["a"] as? [String: Any])?["message"] as? [String: Any])
        #expect(messageA["keysym"] as? Int == 0x6F)
    }

    @Test("a missing key press is reported once and the keys after it still match")
    func missingKey() throws {
        let a = run(typing: keys("ls -l"), requests: 2, moves: 0, step: 10_000)
        let b = run(typing: keys("ls l"), requests: 2, moves: 0, step: 10_000)
        let report = try compare(a, b, .init(rfb: true, direction: .clientToTarget))
        let rfb = try #require(try stream(report, .clientToTarget).rfb)
        #expect(rfb.onlyInA == 2 && rfb.changed == 0 && rfb.onlyInB == 0)
        #expect(
            rfb.differences.map(\.a?.message) == [
                .keyEvent(down: true, keysym: RFBKeysym(0x2D)), .keyEvent(down: false, keysym: RFBKeysym(0x2D)),
            ])
        #expect(rfb.matched == rfb.comparedB, "every message of B is matched")
        let text = RecordDiffFormatter.text(report, pathA: "a", pathB: "b")
        #expect(text.contains("only in A: KeyEvent '-' (0x2d) down at message #"), "\(text)")
    }

    @Test("--allow and --ignore take wsreplay's rules: SetEncodings superset, ignored types, per-message exceptions")
    func rules() throws {
        let a = run(typing: keys("x"), requests: 1, moves: 0, step: 10_000, encodings: [7, 0, -223])
        let longer = run(typing: keys("x"), requests: 1, moves: 0, step: 10_000, encodings: [50, 7, 0, -223, -308])
        let shorter = run(typing: keys("x"), requests: 1, moves: 0, step: 10_000, encodings: [7, -223])
        let client = RecordDiff.Options(rfb: true, direction: .clientToTarget)
        let plain = try compare(a, longer, client)
        #expect(!plain.isSame)
        let text = RecordDiffFormatter.text(plain, pathA: "a", pathB: "b")
        #expect(
            text.contains("changed: SetEncodings differs: added H.264, ExtendedDesktopSize; removed —; order kept"),
            "\(text)")

        var options = client
        options.rules = try RFBRuleSet.parse(allow: ["SetEncodings:superset"])
        let allowed = try compare(a, longer, options)
        #expect(allowed.isSame)
        #expect(try stream(allowed, .clientToTarget).rfb?.allowed == 1)
        #expect(!(try compare(a, shorter, options).isSame), "superset: a removed encoding is not allowed")

        options.rules = try RFBRuleSet.parse(ignore: ["SetEncodings"])
        let ignored = try compare(a, shorter, options)
        #expect(ignored.isSame)
        #expect(try stream(ignored, .clientToTarget).rfb?.ignoredA["SetEncodings"] == 1)

        // A rules file naming A's client message #3 (the SetEncodings: after ProtocolVersion, SecurityChoice, ClientInit).
        var byIndex = RFBRuleSet()
        try byIndex.apply(text: "messages:\n  - {index: 3, rule: allow}\n", source: "rules.yaml")
        options.rules = byIndex
        #expect(try compare(a, shorter, options).isSame)
        // An ignore exception makes that message's difference, or its absence, allowed (as in wsreplay).
        var ignoreOne = RFBRuleSet()
        try ignoreOne.apply(text: "messages:\n  - {index: 3, rule: ignore}\n", source: "rules.yaml")
        options.rules = ignoreOne
        let exception = try compare(a, shorter, options)
        #expect(exception.isSame)
        #expect(try stream(exception, .clientToTarget).rfb?.allowed == 1)
        #expect(try stream(exception, .clientToTarget).rfb?.ignoredA["SetEncodings"] == nil)
    }

    @Test("server messages are compared by structure: other pixel bytes are the same, other rectangles are not")
    func serverStructure() throws {
        let keysyms = keys("ab")
        let a = run(typing: keysyms, requests: 3, moves: 0, step: 10_000, fill: true)
        let b = run(typing: keysyms, requests: 3, moves: 0, step: 12_000, fill: false)
        let target = RecordDiff.Options(rfb: true, direction: .targetToClient)
        let report = try compare(a, b, target)
        #expect(report.isSame)
        let s = try stream(report, .targetToClient)
        #expect(s.bytesDiffer, "fills against JPEG data")
        // ProtocolVersion, SecurityTypes, SecurityResult, ServerInit, then 4 updates.
        #expect(s.rfb?.matched == 8 && s.rfb?.comparedB == 8)
        #expect(!(try compare(a, b, .init(direction: .targetToClient)).isSame), "as bytes they differ")

        // Another rectangle geometry, and a DesktopSize change, are differences.
        var c = RFBSession()
        c.request(incremental: false)
        c.update([(0, 0, 800, 600)])
        c.server([0, 0] + u16(1) + u16(0) + u16(0) + u16(1024) + u16(768) + s32(-223))
        c.close()
        var d = RFBSession()
        d.request(incremental: false)
        d.update([(0, 0, 800, 300), (0, 300, 800, 300)])
        d.close()
        let structure = try compare(c.records, d.records, target)
        #expect(!structure.isSame)
        let rfb = try #require(try stream(structure, .targetToClient).rfb)
        #expect(rfb.changed == 1 && rfb.onlyInA == 1)
        let text = RecordDiffFormatter.text(structure, pathA: "c", pathB: "d")
        #expect(
            text.contains(
                "changed: FramebufferUpdate 1 rect: 0,0 800x600 Tight fill (4 bytes) vs FramebufferUpdate 2 rects"),
            "\(text)")
        #expect(text.contains("only in A: FramebufferUpdate 1 rect: DesktopSize 1024x768 at message #"), "\(text)")
        #expect(text.contains("(server offset "), "\(text)")
    }

    @Test("a stream the parser cannot follow is compared as bytes, and says why")
    func unfollowable() throws {
        var a = RFBSession()
        a.type(0x61)
        a.server([77, 1, 2, 3])
        a.close()
        let report = try compare(a.records, a.records, .init(rfb: true))
        #expect(report.isSame, "the same bytes")
        let s = try stream(report, .targetToClient)
        #expect(!s.comparedAsRFB)
        #expect(s.rfb?.unfollowed.first?.hasPrefix("A: unknown: ") == true, "\(s.rfb?.unfollowed ?? [])")
        let text = RecordDiffFormatter.text(report, pathA: "a", pathB: "b")
        #expect(text.contains("RFB not followed to the end, compared as bytes: A: unknown: "), "\(text)")
        #expect(try stream(report, .clientToTarget).comparedAsRFB)
    }

    @Test("with --timing-tolerance, matched messages sent further apart than it are counted")
    func timing() throws {
        let a = run(typing: keys("echo"), requests: 1, moves: 0, step: 10_000)
        let b = run(typing: keys("echo"), requests: 1, moves: 0, step: 14_000)
        var options = RecordDiff.Options(rfb: true, direction: .clientToTarget)
        #expect(try compare(a, b, options).isSame)
        options.timingToleranceMicros = 50_000
        let report = try compare(a, b, options)
        #expect(!report.isSame)
        let rfb = try #require(try stream(report, .clientToTarget).rfb)
        #expect(rfb.differenceCount == 0 && rfb.timingViolations > 0)
        // The last key's release is frame 25: at 10 ms against 14 ms a frame.
        #expect(rfb.worstTimingMicros == 4_000 * 25)
    }

    @Test("--direction leaves the other direction and the close out")
    func direction() throws {
        var a = RFBSession()
        a.type(0x61)
        a.update([(0, 0, 8, 8)])
        a.close()
        var b = RFBSession()
        b.type(0x61)
        b.update([(0, 0, 8, 9)])
        b.records.append(
            Record(session: 1, timeMicros: 999_999, body: .close(SessionClose(closedBy: .target, code: 1006))))
        #expect(try compare(a.records, b.records, .init(direction: .clientToTarget)).isSame)
        #expect(try compare(a.records, b.records, .init(rfb: true, direction: .clientToTarget)).isSame)
        let both = try compare(a.records, b.records, .init(rfb: true))
        #expect(!both.isSame)
        #expect(both.closeDifferences.count == 1)
        #expect(
            try compare(a.records, b.records, .init(direction: .targetToClient)).streams.map(\.direction) == [
                .targetToClient
            ])
    }
}

extension RecordDiffRFBTests {
    @Test("client frames a recording lost (a gap block) stop the RFB comparison there; the rest is compared as bytes")
    func gap() throws {
        let a = run(typing: keys("abc"), requests: 1, moves: 0, step: 10_000)
        // B lost the frames of the second key press (down and up) to a full disk.
        let lostAt = try #require(
            a.firstIndex { record in
                if case .frame(let f) = record.body, f.payload == [4, 1, 0, 0] + u32(0x62) { return true }
                return false
            })
        let lostBytes = UInt64(16)
        let loss = RecordGap.SessionLoss(
            session: 1, records: 2, clientToTarget: DirectionTotals(frames: 2, bytes: lostBytes),
            firstTimeMicros: a[lostAt].timeMicros, lastTimeMicros: a[lostAt + 1].timeMicros, firstWallMicros: 0,
            lastWallMicros: 0)
        let gap = RecordGap(
            causes: .writeFailed, detail: "No space left on device", records: 2, payloadBytes: lostBytes,
            firstWallMicros: 0, lastWallMicros: 0, sessions: [loss])
        let report = try compare(
            a,
            writeB: { writer in
                for record in a[..<lostAt] { try writer.append(record) }
                try writer.appendGap(gap)
                for record in a[(lostAt + 2)...] { try writer.append(record) }
            }, .init(rfb: true, direction: .clientToTarget))
        #expect(report.gapsB.count == 1 && report.gapsA.isEmpty)
        let s = try stream(report, .clientToTarget)
        let rfb = try #require(s.rfb)
        #expect(!s.comparedAsRFB && !report.isSame)
        #expect(rfb.unfollowed.count == 1)
        #expect(
            rfb.unfollowed.first?.hasPrefix(
                "B: lost: the recording lost 2 frames (16 bytes) here (a block could not be written)") == true,
            "\(rfb.unfollowed)")
        // Where the lost bytes were: after every client byte A has before them.
        let before = a[..<lostAt].reduce(0) { sum, record in
            if case .frame(let f) = record.body, f.direction == .clientToTarget { return sum + f.payload.count }
            return sum
        }
        #expect(
            rfb.unfollowed.first?.contains("at client offset \(before); later client bytes") == true,
            "\(rfb.unfollowed)")
        #expect(
            RecordDiffFormatter.text(report, pathA: "a", pathB: "b").contains(
                "RFB not followed to the end, compared as bytes: B: lost: "))
    }
}

@Suite("SequenceAlignment")
struct SequenceAlignmentTests {
    /// Checks that `steps` walk both sequences in order and pair only equal elements; returns the edit count.
    private func check(_ a: [Character], _ b: [Character], maxEdits: Int = 1000) throws -> (edits: Int, minimal: Bool) {
        let alignment = SequenceAlignment(countA: a.count, countB: b.count, maxEdits: maxEdits) { a[$0] == b[$1] }
        var i = 0
        var j = 0
        var edits = 0
        for step in alignment.steps {
            switch step {
            case .same(let x, let y):
                try #require(x == i && y == j && a[x] == b[y])
                i += 1
                j += 1
            case .onlyA(let x):
                try #require(x == i)
                i += 1
                edits += 1
            case .onlyB(let y):
                try #require(y == j)
                j += 1
                edits += 1
            }
        }
        #expect(i == a.count && j == b.count)
        return (edits, alignment.isMinimal)
    }

    @Test("the shortest edit script, on the paper's example and edge cases")
    func shortest() throws {
        #expect(try check(Array("ABCABBA"), Array("CBABAC")).edits == 5)
        #expect(try check(Array(""), Array("abc")).edits == 3)
        #expect(try check(Array("abc"), Array("")).edits == 3)
        #expect(try check(Array("same"), Array("same")).edits == 0)
        #expect(try check(Array("xabcdefy"), Array("abcdef")).edits == 2)
        #expect(try check(Array("kitten"), Array("sitting")).edits == 5)
    }

    @Test("past maxEdits the middle is paired by position")
    func bounded() throws {
        let a = Array("a" + String(repeating: "x", count: 50) + "z")
        let b = Array("a" + String(repeating: "y", count: 50) + "z")
        let bounded = try check(a, b, maxEdits: 10)
        #expect(!bounded.minimal && bounded.edits == 100)
        let full = try check(a, b)
        #expect(full.minimal && full.edits == 100)
    }
}
