import Foundation
import RecordFormat
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordTools

/// `dump --follow`'s reader over a file that grows as a writer would make it grow.
@Suite("RecordFollower: a recording read while it is written")
struct RecordFollowerTests {
    /// A closed recording of many small blocks (every record of `sampleRecords()` three times).
    func manyBlocks(_ path: String) throws -> (bytes: [UInt8], blocks: [DecodedBlock], records: [Record]) {
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 100
        configuration.compress = false
        let records = sampleRecords() + sampleRecords() + sampleRecords()
        let bytes = try writeRecording(records, to: path, configuration: configuration)
        let decoded = try decodeAll(bytes, chunk: bytes.count)
        return (bytes, decoded.blocks, decoded.records)
    }

    /// Writes `bytes[0..<end]` to `path` (as a writer growing the file, or cutting its torn tail).
    func grow(_ path: String, _ bytes: [UInt8], to end: Int) throws {
        try Data(bytes[0..<end]).write(to: URL(fileURLWithPath: path))
    }

    /// Polls once; the records and damage it handed out.
    func poll(_ follower: RecordFollower) throws -> (records: [Record], damages: [Damage]) {
        var records: [Record] = []
        var damages: [Damage] = []
        try follower.poll { event in
            switch event {
            case .entry(.record(let record)): records.append(record)
            case .entry(.gap): break
            case .damage(let damage): damages.append(damage)
            }
        }
        return (records, damages)
    }

    @Test("grown a few bytes at a time, every record comes once, each block only when it is whole")
    func growsInPieces() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("source.rec").path
        let path = dir.appendingPathComponent("growing.rec").path
        let (bytes, blocks, records) = try manyBlocks(source)
        try #require(blocks.count > 10)
        let headerLength = Int(blocks[0].offset)
        try grow(path, bytes, to: headerLength)
        let follower = try RecordFollower(path: path)
        var seen: [Record] = []
        var end = headerLength
        var step = 1
        while end < bytes.count {
            end = min(bytes.count, end + step)
            step = step % 97 + 13  // splits land anywhere: in headers, payloads, on block ends
            try grow(path, bytes, to: end)
            let got = try poll(follower)
            #expect(got.damages.isEmpty, "a block being written is not damage: \(got.damages)")
            seen += got.records
            // Exactly the records of the blocks that are whole by now.
            let whole = blocks.filter { Int($0.offset) + $0.totalLength <= end }
            let expected = whole.flatMap { block -> [Record] in
                if case .records(let r) = block.content { return r }
                return []
            }
            #expect(seen == expected)
            #expect(follower.endsClosed == (end == bytes.count))
        }
        #expect(seen == records)
        #expect(try poll(follower).records.isEmpty)  // unchanged file: nothing again
        #expect(try follower.finish().isEmpty)
        #expect(follower.damages.isEmpty)
    }

    @Test("a torn tail cut by the next run is read as that run's blocks, not as damage")
    func tornTailThenNewRun() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("source.rec").path
        let path = dir.appendingPathComponent("killed.rec").path
        let (bytes, blocks, _) = try manyBlocks(source)
        // The writer was killed half way into the sixth block.
        let cut = Int(blocks[5].offset) + blocks[5].totalLength / 2
        try grow(path, bytes, to: cut)
        let follower = try RecordFollower(path: path)
        let first = try poll(follower)
        #expect(first.damages.isEmpty)
        let before = blocks[0..<5].flatMap { block -> [Record] in
            if case .records(let r) = block.content { return r }
            return []
        }
        #expect(first.records == before)
        #expect(!follower.endsClosed)
        // A new run appends: it cuts the torn tail and writes its blocks where it was.
        let writer = try RecordFileWriter(path: path, clock: ManualClock())
        #expect(follower.lockedByWriter() || !FileManager.default.fileExists(atPath: "/proc/locks"))
        let added = Record(
            session: writer.allocateSession(), timeMicros: 0,
            body: .frame(Frame(direction: .clientToTarget, opcode: .binary, payload: [4, 1, 0, 0, 0, 0, 0, 0x61])))
        try writer.append(added)
        try writer.close()
        #expect(!follower.lockedByWriter())
        let second = try poll(follower)
        #expect(second.damages.isEmpty, "the cut tail is not damage: \(second.damages)")
        try #require(second.records.count == 2)
        guard case .marker(let text) = second.records[0].body else {
            Issue.record("the new run starts with its marker, got \(second.records[0])")
            return
        }
        #expect(text.hasPrefix("recording resumed by "))
        #expect(second.records[1] == added)
        #expect(follower.endsClosed)
        #expect(follower.damages.isEmpty)
    }

    @Test("damage in the middle is reported once, when a good block follows it; a torn tail only at finish")
    func damageInTheMiddle() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("source.rec").path
        let path = dir.appendingPathComponent("damaged.rec").path
        var (bytes, blocks, _) = try manyBlocks(source)
        // A flipped bit in the third block's header: its header CRC fails, it reads as garbage.
        let bad = blocks[2]
        bytes[Int(bad.offset) + 10] ^= 0x40
        let badEnd = Int(bad.offset) + bad.totalLength
        try grow(path, bytes, to: badEnd)
        let follower = try RecordFollower(path: path)
        #expect(try poll(follower).damages.isEmpty)  // could still be a block being written
        let nextEnd = Int(blocks[3].offset) + blocks[3].totalLength
        try grow(path, bytes, to: nextEnd - 1)
        #expect(try poll(follower).damages.isEmpty)
        try grow(path, bytes, to: nextEnd)
        let got = try poll(follower)
        try #require(got.damages.count == 1)
        #expect(got.damages[0].kind == .garbage)
        #expect(got.damages[0].offset == bad.offset)
        #expect(!got.records.isEmpty)  // the fourth block's
        // A block cut short and never finished: damage once following ends.
        try grow(path, bytes, to: nextEnd + 30)
        #expect(try poll(follower).damages.isEmpty)
        let tail = try follower.finish()
        try #require(tail.count == 1)
        #expect(tail[0].kind == .truncated)
        #expect(tail[0].offset == UInt64(nextEnd))
        #expect(follower.damages.count == 2)
    }
}

/// `dump --follow` on a legacy (Python websockify) recording that grows line by line.
@Suite("LegacyRecordFollower: a legacy recording read while it is written")
struct LegacyRecordFollowerTests {
    @Test("every frame once, a line being written waited for, the EOF line ends it with the records RecordSource makes")
    func growsByLines() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("session.1").path
        let entries = (0..<40).map { (i: Int) -> LegacyRecording.Entry in
            let payload: [UInt8] = (0..<(i * 5 % 23)).map { (j: Int) -> UInt8 in UInt8((j * 37 + i) % 256) }
            return LegacyRecording.Entry(fromClient: i % 3 == 0, timeMillis: UInt64(i * 7), payload: payload)
        }
        let bytes = LegacyRecording.render(entries)
        // The same file, read whole.
        let whole = dir.appendingPathComponent("whole.1").path
        try Data(bytes).write(to: URL(fileURLWithPath: whole))
        let expected = try RecordSource(path: whole).readAll()
        try #require(expected.count == entries.count + 2)

        try Data(bytes[0..<30]).write(to: URL(fileURLWithPath: path))
        let follower = try LegacyRecordFollower(path: path)
        var seen: [Record] = []
        var end = 30
        var step = 5
        while end < bytes.count {
            end = min(bytes.count, end + step)
            step = step % 41 + 9  // cuts inside lines, inside escapes, on line ends
            try Data(bytes[0..<end]).write(to: URL(fileURLWithPath: path))
            try follower.poll { event in
                switch event {
                case .entry(.record(let record)): seen.append(record)
                case .entry(.gap): Issue.record("a legacy file has no gaps")
                case .damage(let damage): Issue.record("a line being written is not damage: \(damage)")
                }
            }
            // The open record, then one frame per line whose newline has arrived.
            let lines = bytes[0..<end].filter { $0 == 0x0A }.count - 1
            let frames = min(lines, entries.count)
            #expect(seen.count == 1 + frames + (follower.endsClosed ? 1 : 0))
            #expect(follower.endsClosed == (end == bytes.count))
        }
        #expect(seen == expected)
        #expect(try follower.finish().isEmpty)
    }

    @Test("a line cut off for good is damage at finish")
    func cutOff() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("killed.1").path
        let text = "var VNC_frame_data = [\n'{12{RFB 003.008\\n',\n'}20}hal"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let follower = try LegacyRecordFollower(path: path)
        var records: [Record] = []
        try follower.poll { if case .entry(.record(let record)) = $0 { records.append(record) } }
        #expect(records.count == 2)  // open, the server's version
        #expect(!follower.endsClosed)
        let damages = try follower.finish()
        try #require(damages.count == 1)
        #expect(damages[0].offset == UInt64(text.utf8.count - 8))
        #expect(damages[0].kind == .truncated)
    }
}
