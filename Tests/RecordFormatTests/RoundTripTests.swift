import Foundation
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordFormat

@Suite("Round trips through files")
struct RoundTripTests {
    @Test("every record kind survives writer → file → reader")
    func everyKind() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("all.rec").path
        let records = sampleRecords()
        try writeRecording(records, to: path)
        let reader = try RecordFileReader(path: path)
        var read: [Record] = []
        while let record = try reader.nextRecord() { read.append(record) }
        #expect(read == records)
        #expect(reader.damages.isEmpty)
        #expect(reader.header.producerName == "websockify-swift")
        #expect(reader.header.major == 1)
    }

    @Test("many blocks, stored and deflated, in order", arguments: [512, 4096, 1 << 20])
    func manyBlocks(blockSize: Int) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("many.rec").path
        var rng = SystemRandomNumberGenerator()
        var records = [Record(session: 1, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 5)))]
        for i in 0..<300 {
            let payload: [UInt8] =
                i % 3 == 0
                ? (0..<700).map { _ in UInt8.random(in: 0...255, using: &rng) }
                : [UInt8](repeating: UInt8(i & 0xFF), count: 300 + i)
            records.append(
                Record(
                    session: 1, timeMicros: UInt64(i) * 1000,
                    body: .frame(Frame(direction: i % 2 == 0 ? .clientToTarget : .targetToClient, opcode: .binary, payload: payload))))
        }
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = blockSize
        try writeRecording(records, to: path, configuration: configuration)
        let reader = try RecordFileReader(path: path)
        var read: [Record] = []
        var codecs: Set<UInt8> = []
        while let block = try reader.nextBlock() {
            if case .records(let r) = block.content {
                read += r
                codecs.insert(block.header.codec.rawValue)
            }
        }
        #expect(read == records)
        #expect(reader.damages.isEmpty)
        if blockSize == 512 { #expect(codecs == [0, 1], "small blocks of random and repeated bytes use both codecs") }
    }

    @Test("random payloads are stored: the file is at most 1.01× the payload")
    func incompressibleIsStored() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("random.rec").path
        var rng = SystemRandomNumberGenerator()
        var payloadBytes = 0
        var records = [Record(session: 1, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 5)))]
        for i in 0..<64 {
            let payload = (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &rng) }
            payloadBytes += payload.count
            records.append(Record(session: 1, timeMicros: UInt64(i), body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: payload))))
        }
        let bytes = try writeRecording(records, to: path)
        #expect(Double(bytes.count) <= 1.01 * Double(payloadBytes))
        let report = try RecordVerifier.verify(path: path)
        #expect(report.deflatedBlocks == 0 || report.storedBlocks >= 4)
        #expect(report.isClean)
    }

    @Test("zero payloads deflate to at most 0.01× the payload")
    func zerosCompress() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("zeros.rec").path
        var records = [Record(session: 1, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 5)))]
        for i in 0..<128 {
            records.append(Record(session: 1, timeMicros: UInt64(i), body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: [UInt8](repeating: 0, count: 65_536)))))
        }
        let bytes = try writeRecording(records, to: path)
        #expect(Double(bytes.count) <= 0.01 * Double(128 * 65_536))
    }

    @Test("a block is sealed once the seal interval has passed")
    func sealInterval() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("interval.rec").path
        let clock = ManualClock()
        let writer = try RecordFileWriter(path: path, clock: clock)
        let start = writer.endOffset
        let frame = Record(session: 1, timeMicros: 0, body: .frame(Frame(direction: .clientToTarget, opcode: .binary, payload: [1])))
        try writer.append(frame)
        clock.advance(micros: 500_000)
        try writer.append(frame)
        try writer.sealIfDue()
        #expect(writer.endOffset == start, "nothing sealed before a second has passed")
        clock.advance(micros: 500_000)
        try writer.sealIfDue()
        #expect(writer.endOffset > start, "sealed after one second")
        let sealed = writer.endOffset
        try writer.sealIfDue()
        #expect(writer.endOffset == sealed, "an empty block is never written")
        try writer.close()
        let reader = try RecordFileReader(path: path)
        var count = 0
        while try reader.nextRecord() != nil { count += 1 }
        #expect(count == 2)
    }

    @Test("the index is written at close and seeks by time within a session")
    func indexAndSeek() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("seek.rec").path
        var records: [Record] = []
        for s in UInt32(1)...3 { records.append(Record(session: s, timeMicros: 0, body: .open(SessionOpen(startWallMicros: Int64(s) * 1_000_000)))) }
        for t in 0..<600 {
            let s = UInt32(t % 3 + 1)
            records.append(Record(session: s, timeMicros: UInt64(t) * 10_000, body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: [UInt8](repeating: UInt8(t % 251), count: 100)))))
        }
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 2048
        try writeRecording(records, to: path, configuration: configuration)
        let reader = try RecordFileReader(path: path)
        #expect(try reader.hasValidIndex())
        let stored = try reader.loadIndex()
        let scanned = try RecordFileReader.scanIndex(path: path)
        #expect(stored == scanned)
        #expect(stored.blocks.count > 10)
        #expect(try reader.seek(session: 2, toTime: 3_000_000))
        var first: Record?
        while let record = try reader.nextRecord() {
            if record.session == 2, record.timeMicros >= 3_000_000 {
                first = record
                break
            }
        }
        #expect(first?.timeMicros == 3_010_000)  // t = 301 is the first session-2 time ≥ 3 s
        #expect(try reader.seek(session: 9, toTime: 0) == false)
    }

    @Test("an unknown major version is refused with a clear message")
    func unknownMajor() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("future.rec").path
        var header = FileHeader(createdWallMicros: 0, producerName: "future", producerVersion: "9")
        header.major = 2
        header.minor = 3
        try Data(header.encoded()).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: RecordFormatError.self) { try RecordFileReader(path: path) }
        #expect(error?.code == .unsupportedVersion)
        #expect(error?.description.contains("2.3") == true)
        #expect(error?.description.contains(path) == true)
    }

    @Test("a file that is not a recording is named in the error")
    func notARecording() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("text.rec").path
        try Data("hello world, this is not it".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: RecordFormatError.self) { try RecordFileReader(path: path) }
        #expect(error?.code == .notARecording)
        #expect(error?.description.hasPrefix(path) == true)
        #expect(error?.offset == 0)
    }

    @Test("redaction keeps the length and sets the flag")
    func redaction() {
        let frame = Frame(direction: .clientToTarget, opcode: .binary, payload: [4, 1, 0, 0, 0, 0, 0, 0x61]).redacted()
        #expect(frame.payload == [UInt8](repeating: 0, count: 8))
        #expect(frame.isRedacted)
    }
}
