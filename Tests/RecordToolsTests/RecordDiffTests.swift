import Foundation
import RFB
import RecordFormat
import RecordTools
import Testing
import WebSocketWire

private func tempDir() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("wsdiff-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func fixture(_ name: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}

/// A session whose two byte streams are `client` and `target`, cut into frames of the given sizes.
private func session(
    _ number: UInt32, client: [UInt8], target: [UInt8], clientChunk: Int, targetChunk: Int, timeScale: UInt64 = 1000,
    closeCode: UInt16 = 1000
) -> [Record] {
    var records = [Record(session: number, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 1)))]
    var t: UInt64 = 0
    func cut(_ bytes: [UInt8], _ size: Int, _ direction: Direction) {
        var i = 0
        while i < bytes.count {
            t += 1
            records.append(Record(session: number, timeMicros: t * timeScale, body: .frame(Frame(direction: direction, opcode: .binary, payload: Array(bytes[i..<min(i + size, bytes.count)])))))
            i += size
        }
    }
    cut(client, clientChunk, .clientToTarget)
    cut(target, targetChunk, .targetToClient)
    records.append(Record(session: number, timeMicros: (t + 1) * timeScale, body: .close(SessionClose(closedBy: .client, code: closeCode))))
    return records
}

private func write(_ records: [Record], _ path: String) throws {
    let writer = try RecordFileWriter(path: path)
    for record in records { try writer.append(record) }
    try writer.close()
}

@Suite("diff")
struct RecordDiffTests {
    let client = Array((0..<5000).map { UInt8($0 % 251) })
    let target = Array((0..<20000).map { UInt8(($0 * 7) % 253) })

    @Test("the same bytes framed differently are the same; framing is reported")
    func differentFraming() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.rec").path
        let b = dir.appendingPathComponent("b.rec").path
        try write(session(1, client: client, target: target, clientChunk: 100, targetChunk: 1000), a)
        try write(session(1, client: client, target: target, clientChunk: 37, targetChunk: 4096), b)
        let report = try RecordDiff.compare(a, b)
        #expect(report.isSame)
        #expect(report.streams.count == 2)
        #expect(report.streams.allSatisfy { $0.firstFramingDifference != nil })
        #expect(report.streams.first { $0.direction == .targetToClient }?.bytesB == 20000)
    }

    @Test("a changed byte is found at its exact offset, with record indexes, times and context")
    func changedByte() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.rec").path
        let b = dir.appendingPathComponent("b.rec").path
        var changed = target
        changed[12345] ^= 0xFF
        try write(session(1, client: client, target: target, clientChunk: 100, targetChunk: 1000), a)
        try write(session(1, client: client, target: changed, clientChunk: 100, targetChunk: 3000), b)
        let report = try RecordDiff.compare(a, b)
        #expect(!report.isSame)
        let stream = try #require(report.firstDivergence)
        #expect(stream.direction == .targetToClient)
        let d = try #require(stream.divergence)
        #expect(d.offset == 12345)
        // A: open, 50 client frames, then target frame 12 (bytes 12000..<13000) → record 1 + 50 + 12.
        #expect(d.recordA == 63)
        #expect(d.recordB == 1 + 50 + 4)
        #expect(d.timeA == 63_000)
        #expect(d.contextStart == 12345 - 16)
        #expect(d.contextA[16] == target[12345] && d.contextB[16] == changed[12345])
        #expect(Array(d.contextA.prefix(16)) == Array(target[12329..<12345]))
    }

    @Test("a shorter stream, a missing session and a different close code are differences")
    func structuralDifferences() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.rec").path
        let b = dir.appendingPathComponent("b.rec").path
        try write(session(1, client: client, target: target, clientChunk: 100, targetChunk: 1000) + session(2, client: [1], target: [2], clientChunk: 1, targetChunk: 1), a)
        try write(session(1, client: Array(client.prefix(4000)), target: target, clientChunk: 100, targetChunk: 1000, closeCode: 1006), b)
        let report = try RecordDiff.compare(a, b)
        #expect(report.onlyInA == [2])
        #expect(report.closeDifferences.count == 1)
        let stream = try #require(report.streams.first { $0.direction == .clientToTarget })
        #expect(stream.divergence?.offset == 4000)
        #expect(stream.divergence?.recordB == nil, "B's stream ended there")
        // Only session 1, pinned: the missing session no longer counts.
        let pinned = try RecordDiff.compare(a, b, options: .init(pairs: [(1, 1)]))
        #expect(pinned.onlyInA.isEmpty)
        // Session 2 of A against session 1 of B.
        let cross = try RecordDiff.compare(a, a, options: .init(pairs: [(2, 1)]))
        #expect(!cross.isSame)
    }

    @Test("timing is ignored unless a tolerance is given")
    func timing() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.rec").path
        let b = dir.appendingPathComponent("b.rec").path
        try write(session(1, client: client, target: target, clientChunk: 100, targetChunk: 1000, timeScale: 1000), a)
        try write(session(1, client: client, target: target, clientChunk: 100, targetChunk: 1000, timeScale: 1100), b)
        #expect(try RecordDiff.compare(a, b).isSame)
        let loose = try RecordDiff.compare(a, b, options: .init(timingToleranceMicros: 10_000))
        #expect(loose.isSame, "70 frames drift at most 7 ms")
        let tight = try RecordDiff.compare(a, b, options: .init(timingToleranceMicros: 2_000))
        #expect(!tight.isSame)
        let violations = tight.streams.reduce(0) { $0 + $1.timingViolations }
        #expect(violations > 0)
        #expect(tight.streams.map(\.worstTimingMicros).max() == 7_000)
    }

    @Test("timing is checked from both sides: diff A B and diff B A agree")
    func timingSymmetric() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.rec").path
        let b = dir.appendingPathComponent("b.rec").path
        let bytes = Array((0..<10).map { UInt8($0) })
        // A: all ten bytes at once at t=1 ms; B: one byte per frame, 1 s apart.
        try write(session(1, client: [], target: bytes, clientChunk: 1, targetChunk: 10), a)
        try write(session(1, client: [], target: bytes, clientChunk: 1, targetChunk: 1, timeScale: 1_000_000), b)
        let ab = try RecordDiff.compare(a, b, options: .init(timingToleranceMicros: 50_000))
        let ba = try RecordDiff.compare(b, a, options: .init(timingToleranceMicros: 50_000))
        #expect(!ab.isSame && !ba.isSame)
        #expect(ab.streams.map(\.timingViolations) == ba.streams.map(\.timingViolations))
    }

    @Test("--rfb names the RFB message types that differ and ignores split differences")
    func rfbMode() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let legacy = fixture("websockify-0.10-session.legacy")
        var records = try RecordSource(path: legacy).readAll()
        // Change the keysym of the first KeyEvent in a copy.
        let index = try #require(records.firstIndex { record in
            if case .frame(let f) = record.body, f.direction == .clientToTarget, f.payload.first == 4, f.payload.count == 8 { return true }
            return false
        })
        guard case .frame(var frame) = records[index].body else { return }
        frame.payload[7] ^= 0x01
        records[index].body = .frame(frame)
        let b = dir.appendingPathComponent("b.rec").path
        try write(records, b)
        let report = try RecordDiff.compare(legacy, b, options: .init(rfb: true))
        #expect(!report.isSame)
        let stream = try #require(report.streams.first { $0.direction == .clientToTarget })
        #expect(stream.comparedAsRFB)
        #expect(stream.rfb?.differences.compactMap { $0.a?.message.name } == ["KeyEvent"])
        #expect(try RecordDiff.compare(legacy, legacy, options: .init(rfb: true)).isSame)
        let text = RecordDiffFormatter.text(report, pathA: "A", pathB: "B")
        #expect(text.contains("KeyEvent"))
    }
}
