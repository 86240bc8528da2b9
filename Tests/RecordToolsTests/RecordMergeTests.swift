import Foundation
import RecordTestSupport
import RecordTools
import Testing
import WebSocketWire

@testable import RecordFormat

/// Several recordings as one (issue 17 §3): a session that spans rotated files is joined by its
/// identity, and `--by-time` merges several proxies' files into one wall-clock timeline.
@Suite("Joining and merging recordings")
struct RecordMergeTests {
    static let base: Int64 = 1_764_000_000_000_000

    static func open(_ start: Int64, _ identity: SessionIdentity?) -> SessionOpen {
        SessionOpen(startWallMicros: start, clientAddress: "c", target: .hostPort("t:1"), identity: identity)
    }

    static func frame(_ session: UInt32, _ time: UInt64, _ text: String) -> Record {
        Record(
            session: session, timeMicros: time,
            body: .frame(Frame(direction: .clientToTarget, opcode: .binary, payload: Array(text.utf8))))
    }

    static func texts(_ records: [Record], session: UInt32) -> [String] {
        records.compactMap { record in
            guard record.session == session, case .frame(let frame) = record.body else { return nil }
            return String(decoding: frame.payload, as: UTF8.self)
        }
    }

    static func merged(_ inputs: [String], byTime: Bool) throws -> [Record] {
        let merge = try RecordMerge(inputs: inputs, byTime: byTime)
        var records: [Record] = []
        while let entry = try merge.nextEntry() {
            if case .record(let record) = entry { records.append(record) }
        }
        return records
    }

    @Test("a session continued in the next file is one session: its first open, all its frames, its close")
    func joinsBySessionIdentity() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spanning = SessionIdentity.random(instance: "proxy-a")
        let first = dir.appendingPathComponent("a-1.rec").path
        let second = dir.appendingPathComponent("a-2.rec").path
        _ = try writeRecording(
            [
                Record(session: 4, timeMicros: 0, body: .open(Self.open(Self.base, spanning))),
                Self.frame(4, 10, "one"), Self.frame(4, 20, "two"),
            ], to: first)
        // The next file: the same open again at the time of the last record, then the rest; and an
        // older session without an identity, which is never joined with anything.
        _ = try writeRecording(
            [
                Record(session: 4, timeMicros: 20, body: .open(Self.open(Self.base, spanning))),
                Self.frame(4, 30, "three"),
                Record(session: 5, timeMicros: 0, body: .open(Self.open(Self.base + 25, nil))),
                Self.frame(5, 1, "other"),
                Record(session: 4, timeMicros: 40, body: .close(SessionClose(closedBy: .client))),
            ], to: second)
        for byTime in [false, true] {
            let records = try Self.merged([first, second], byTime: byTime)
            let opens = records.filter { if case .open = $0.body { true } else { false } }
            #expect(opens.map(\.session) == [1, 2], "byTime \(byTime)")
            #expect(Self.texts(records, session: 1) == ["one", "two", "three"])
            #expect(Self.texts(records, session: 2) == ["other"])
            #expect(records.last?.session == 1)
            if case .open(let kept) = opens[0].body {
                #expect(kept.identity == spanning)
                #expect(kept.origin == "a-1.rec#4")
            }
        }
        // Files without identities (before 1.4) are never joined: the same file twice is two sessions.
        let plain = dir.appendingPathComponent("plain.rec").path
        _ = try writeRecording(
            [Record(session: 1, timeMicros: 0, body: .open(Self.open(Self.base, nil))), Self.frame(1, 1, "x")], to: plain)
        let twice = try Self.merged([plain, plain], byTime: false)
        #expect(twice.filter { if case .open = $0.body { true } else { false } }.map(\.session) == [1, 2])
    }

    @Test("by time: the earliest next record of any file, each file's order kept; in input order: one after the other")
    func mergesByWallClock() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let p1 = dir.appendingPathComponent("p1.rec").path
        let p2 = dir.appendingPathComponent("p2.rec").path
        // Proxy 1: sessions at +0 and +200 ms; proxy 2: at +100 ms and +300 ms; each says its name at +1 ms.
        _ = try writeRecording(
            [
                Record(session: 1, timeMicros: 0, body: .open(Self.open(Self.base, .random(instance: "p1")))),
                Self.frame(1, 1_000, "a"),
                Record(session: 2, timeMicros: 0, body: .open(Self.open(Self.base + 200_000, .random(instance: "p1")))),
                Self.frame(2, 1_000, "c"),
                Record(session: 0, timeMicros: UInt64(Self.base + 250_000), body: .marker("p1 marker")),
            ], to: p1)
        _ = try writeRecording(
            [
                Record(session: 1, timeMicros: 0, body: .open(Self.open(Self.base + 100_000, .random(instance: "p2")))),
                Self.frame(1, 1_000, "b"),
                Record(session: 2, timeMicros: 0, body: .open(Self.open(Self.base + 300_000, .random(instance: "p2")))),
                Self.frame(2, 1_000, "d"),
            ], to: p2)
        let byTime = try Self.merged([p1, p2], byTime: true)
        #expect((1...4).map { Self.texts(byTime, session: UInt32($0)) } == [["a"], ["b"], ["c"], ["d"]])
        #expect(byTime.firstIndex { $0.body == .marker("p1 marker") } == 6, "between c (+200 ms) and d's open (+300 ms)")
        let inOrder = try Self.merged([p1, p2], byTime: false)
        #expect((1...4).map { Self.texts(inOrder, session: UInt32($0)) } == [["a"], ["c"], ["b"], ["d"]])
    }

    @Test("cat copies gap blocks, their sessions renumbered as the records are")
    func gapsRenumbered() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = dir.appendingPathComponent("first.rec").path
        let second = dir.appendingPathComponent("second.rec").path
        _ = try writeRecording(
            [Record(session: 1, timeMicros: 0, body: .open(Self.open(Self.base, nil))), Self.frame(1, 1, "x")], to: first)
        let writer = try RecordFileWriter(path: second, clock: ManualClock())
        try writer.append(Record(session: 3, timeMicros: 0, body: .open(Self.open(Self.base + 10, nil))))
        try writer.appendGap(
            RecordGap(
                causes: .writeFailed, detail: "No space left on device", records: 2, payloadBytes: 10,
                firstWallMicros: Self.base + 11, lastWallMicros: Self.base + 12,
                sessions: [
                    .init(
                        session: 3, records: 2, firstTimeMicros: 1, lastTimeMicros: 2, firstWallMicros: Self.base + 11,
                        lastWallMicros: Self.base + 12)
                ]))
        try writer.close()
        let output = dir.appendingPathComponent("joined.rec").path
        _ = try RecordEditing.concatenate(inputs: [first, second], output: output)
        let reader = try RecordFileReader(path: output)
        while try reader.nextRecord() != nil {}
        #expect(reader.gaps.map { $0.sessions.map(\.session) } == [[2]])
    }
}
