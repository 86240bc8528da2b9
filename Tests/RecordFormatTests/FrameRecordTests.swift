import Foundation
import RecordTestSupport
import Testing
import TestSupport
import WebSocketWire

@testable import RecordFormat

/// A payload that lends the bytes of an array slice, like a network buffer slice would.
struct SlicePayload: RecordPayload {
    let bytes: ArraySlice<UInt8>
    var byteCount: Int { bytes.count }
    func withPayloadBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { bytes.withUnsafeBytes(body) }
}

@Suite("Frame records by reference")
struct FrameRecordTests {
    /// Frames of every size class around the reference threshold, random and repetitive.
    func sampleFrames() -> [Record] {
        var records = [Record(session: 1, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 7, clientAddress: "c")))]
        let sizes = [0, 1, 20, 4095, 4096, 4097, 70_000, 300, 200_000, 5]
        for (i, size) in sizes.enumerated() {
            let payload: [UInt8] =
                i % 2 == 0 ? noise(size, seed: UInt64(i)) : [UInt8](repeating: UInt8(i), count: size)
            records.append(
                Record(
                    session: 1, timeMicros: UInt64(i) * 10,
                    body: .frame(
                        Frame(
                            direction: i % 3 == 0 ? .clientToTarget : .targetToClient, opcode: i == 9 ? .ping : .binary,
                            payload: payload, isFinal: i != 4, isRedacted: i == 6))))
        }
        records.append(Record(session: 1, timeMicros: 500, body: .close(SessionClose(closedBy: .client, code: 1000))))
        return records
    }

    @Test("a block payload with referenced pieces equals the records encoded in one array")
    func blockPayloadPieces() {
        let records = sampleFrames()
        var contiguous: [UInt8] = []
        var payload = BlockPayload()
        for record in records {
            RecordCodec.encode(record, into: &contiguous)
            if case .frame(let frame) = record.body {
                let reference = FrameRecord(session: record.session, timeMicros: record.timeMicros, frame: frame)
                payload.appendOwn { RecordCodec.encodeHeader(of: reference, into: &$0) }
                payload.append(SlicePayload(bytes: frame.payload[...]))
            } else {
                payload.appendOwn { RecordCodec.encode(record, into: &$0) }
            }
        }
        #expect(payload.count == contiguous.count)
        #expect(payload.contiguous() == contiguous)
        #expect(payload.crc32() == recordCRC32(contiguous))
        #expect(payload.looksIncompressible() == contiguous.withUnsafeBytes { looksIncompressible($0) })
        for range in [0..<0, 0..<1, 100..<5000, 4000..<90_000, (contiguous.count - 3)..<contiguous.count] {
            var gathered: [UInt8] = []
            payload.forEachPiece(in: range) { gathered += $0 }
            #expect(gathered == Array(contiguous[range]), "range \(range)")
        }
    }

    @Test("the incompressibility test reads the same samples from pieces as from one array")
    func entropyOverPieces() {
        for (randomShare, length) in [(0, 50_000), (1, 50_000), (2, 300_000), (3, 9000), (4, 60_000)] {
            // Part random, part repeated: some of these look incompressible, some don't.
            let random = noise(length, seed: UInt64(length))
            let bytes: [UInt8] = (0..<length).map { i in i % 4 < randomShare ? random[i] : UInt8(i % 7) }
            var payload = BlockPayload()
            var offset = 0
            for (n, cut) in [100, 5000, 20_000, 4096, 10, 8000].enumerated() where offset < length {
                let piece = bytes[offset..<min(length, offset + cut)]
                if n % 2 == 0 {
                    payload.appendOwn { $0 += piece }
                } else {
                    payload.append(SlicePayload(bytes: piece))
                }
                offset += piece.count
            }
            payload.append(SlicePayload(bytes: bytes[offset...]))
            #expect(payload.contiguous() == bytes)
            #expect(payload.looksIncompressible() == bytes.withUnsafeBytes { looksIncompressible($0) })
        }
    }

    /// Writes `records` with every frame payload appended by reference (a ``FrameRecord``).
    func writeByReference(_ records: [Record], to path: String, configuration: RecordWriterConfiguration) throws {
        let writer = try RecordFileWriter(path: path, configuration: configuration, clock: ManualClock())
        for record in records {
            if case .frame(let frame) = record.body {
                try writer.append(
                    FrameRecord(
                        session: record.session, timeMicros: record.timeMicros, direction: frame.direction,
                        opcode: frame.opcode, isFinal: frame.isFinal, isRedacted: frame.isRedacted,
                        payload: SlicePayload(bytes: frame.payload[...])))
            } else {
                try writer.append(record)
            }
        }
        try writer.close()
    }

    @Test("frames appended by reference make the same file as the same records", arguments: [true, false])
    func sameFileAsRecords(compress: Bool) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var configuration = RecordWriterConfiguration()
        configuration.compress = compress
        configuration.blockSizeBound = 64 << 10
        let records = sampleFrames() + sampleFrames().map { record in
            var record = record
            record.session = 2
            return record
        }
        let expected = try writeRecording(records, to: dir.appendingPathComponent("a.rec").path, configuration: configuration)
        let path = dir.appendingPathComponent("b.rec").path
        try writeByReference(records, to: path, configuration: configuration)
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(written == expected)
        let reader = try RecordFileReader(path: path)
        var read: [Record] = []
        while let record = try reader.nextRecord() { read.append(record) }
        #expect(read == records)
        #expect(reader.damages.isEmpty)
    }

    @Test("a block of 300 referenced payloads, written in three vectored groups, reads back intact")
    func manyReferencesInOneBlock() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var configuration = RecordWriterConfiguration()
        configuration.compress = false
        configuration.blockSizeBound = 2 << 20  // all 300 frames (1.2 MB) in one block
        var records = [Record(session: 1, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 7)))]
        for i in 0..<300 {
            let frame = Frame(direction: .targetToClient, opcode: .binary, payload: noise(4096, seed: UInt64(i)))
            records.append(Record(session: 1, timeMicros: UInt64(i + 1), body: .frame(frame)))
        }
        let expected = try writeRecording(records, to: dir.appendingPathComponent("a.rec").path, configuration: configuration)
        let path = dir.appendingPathComponent("b.rec").path
        try writeByReference(records, to: path, configuration: configuration)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == expected)
        // The block's CRC is computed piece by piece, apart from the grouping that writes the
        // bytes: a byte lost or repeated between groups shows as a damaged block here.
        let reader = try RecordFileReader(path: path)
        var read: [Record] = []
        while let record = try reader.nextRecord() { read.append(record) }
        #expect(read == records)
        #expect(reader.damages.isEmpty)
    }

    @Test("a queued frame's payload is written from the caller's buffer")
    func backgroundRecorder() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("bg.rec").path
        let recorder = try BackgroundRecorder(path: path)
        let session = recorder.allocateSession()
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        recorder.submit(Record(session: session, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 1))))
        #expect(
            recorder.submit(
                FrameRecord(
                    session: session, timeMicros: 5, direction: .targetToClient, opcode: .binary,
                    payload: SlicePayload(bytes: payload[10...])), retainedBytes: payload.count))
        recorder.close()
        let reader = try RecordFileReader(path: path)
        var frames: [Frame] = []
        while let record = try reader.nextRecord() {
            if case .frame(let frame) = record.body { frames.append(frame) }
        }
        #expect(frames == [Frame(direction: .targetToClient, opcode: .binary, payload: Array(payload[10...]))])
    }

    @Test("the queue counts what a referenced payload keeps alive")
    func queueBudget() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // No writer progress matters here: a limit smaller than one retained buffer drops the frame.
        let recorder = try BackgroundRecorder(
            path: dir.appendingPathComponent("q.rec").path, configuration: .init(queueByteLimit: 64 << 10))
        defer { recorder.close() }
        let payload = [UInt8](repeating: 1, count: 8192)
        let frame = FrameRecord(
            session: recorder.allocateSession(), timeMicros: 0, direction: .targetToClient, opcode: .binary,
            payload: SlicePayload(bytes: payload[...]))
        #expect(recorder.submit(frame, retainedBytes: 8192))
        #expect(!recorder.submit(frame, retainedBytes: 1 << 20))
        // (Submitted in this order: after a drop nothing is queued until the writer takes the
        // queue; GapReviewTests covers that.)
    }
}
