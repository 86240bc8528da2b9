import Foundation
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordFormat

/// When the trailer's index is trusted for seeking (§5.3): only when it describes the blocks a reader walking the
/// file finds. Found by the `record-file` fuzz target: a forged index sent a seek into the payload of a corrupt block,
/// where bytes a full read passes over parsed as a block of their own.
@Suite("Trusting the trailer's index")
struct IndexTrustTests {
    /// Three sessions taking turns over many small blocks, with the index and trailer written at close.
    private static func recording(in dir: URL) throws -> (path: String, bytes: [UInt8], blocks: [DecodedBlock]) {
        let path = dir.appendingPathComponent("index.rec").path
        var records: [Record] = []
        for s in UInt32(1)...3 { records.append(Record(session: s, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 0)))) }
        for t in 0..<300 {
            let payload = [UInt8](repeating: UInt8(t % 251), count: 100)
            records.append(Record(session: UInt32(t % 3 + 1), timeMicros: UInt64(t) * 10_000, body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: payload))))
        }
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 2048
        let bytes = try writeRecording(records, to: path, configuration: configuration)
        let reader = try RecordFileReader(path: path)
        var blocks: [DecodedBlock] = []
        while let block = try reader.nextBlock() { blocks.append(block) }
        return (path, bytes, blocks)
    }

    /// Every record a full read of `path` returns, by session and time.
    private static func held(_ path: String) throws -> Set<[UInt64]> {
        let reader = try RecordFileReader(path: path)
        var held: Set<[UInt64]> = []
        while let record = try reader.nextRecord() { held.insert([UInt64(record.session), record.timeMicros]) }
        return held
    }

    @Test("an index whose block sits inside another block's extent is not trusted; seeking reads only what the file holds")
    func blockInsideACorruptBlock() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var (path, bytes, blocks) = try Self.recording(in: dir)
        let records = blocks.filter { if case .records = $0.content { true } else { false } }
        try #require(records.count > 6)
        // Block 2's header is rewritten (with a valid header CRC) to span block 3 as well: a full read now skips
        // both as one corrupt block, while the index still lists block 3 where it was.
        let outer = records[2], inner = records[3]
        let start = Int(outer.offset), headerLength = outer.header.encodedLength
        let stored = outer.header.storedLength + inner.totalLength
        func put(_ value: UInt32, at offset: Int) { withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + 4, with: $0) } }
        put(UInt32(stored), at: start + 8)
        put(UInt32(max(outer.header.rawLength, stored + 1)), at: start + 12)
        put(bytes[start..<start + headerLength - 4].withUnsafeBytes { crc32Of($0) }, at: start + headerLength - 4)
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let held = try Self.held(path)
        let reader = try RecordFileReader(path: path)
        #expect(try reader.hasValidIndex() == false)
        #expect(try reader.loadIndex() == RecordFileReader.scanIndex(path: path))
        guard case .records(let hidden) = inner.content, let first = hidden.first else { Issue.record("no records"); return }
        let innerHeld = held.contains([UInt64(first.session), first.timeMicros])
        #expect(!innerHeld, "a full read passes over the inner block")
        for session in UInt32(1)...3 {
            for time in stride(from: UInt64(0), to: 3_000_000, by: 100_000) {
                guard try reader.seek(session: session, toTime: time) else { continue }
                for _ in 0..<8 {
                    guard let record = try reader.nextRecord() else { break }
                    let isHeld = held.contains([UInt64(record.session), record.timeMicros])
                    #expect(isHeld, "after a seek to session \(session) at \(time) µs: record \(record.session)/\(record.timeMicros) µs")
                }
            }
        }
    }

    @Test("a block damaged after the index was written is still listed: the index stays trusted")
    func damagedPayloadKeepsTheIndex() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var (path, bytes, blocks) = try Self.recording(in: dir)
        let victim = blocks[3]
        bytes[Int(victim.offset) + victim.header.encodedLength] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let reader = try RecordFileReader(path: path)
        #expect(try reader.hasValidIndex())
        #expect(try reader.loadIndex().blocks.count == RecordFileReader.scanIndex(path: path).blocks.count + 1)
    }

    @Test("an index listing an offset where the walk finds no block is not trusted")
    func offsetOffTheWalk() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var (path, bytes, blocks) = try Self.recording(in: dir)
        // A damaged header: the walk resynchronises past that block, so the index's entry for it names no block.
        let victim = blocks[4]
        bytes[Int(victim.offset) + 20] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let reader = try RecordFileReader(path: path)
        #expect(try reader.hasValidIndex() == false)
        #expect(try reader.loadIndex() == RecordFileReader.scanIndex(path: path))
    }
}
