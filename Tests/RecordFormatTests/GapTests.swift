import Foundation
import RecordTestSupport
import Testing
import TestSupport
import WebSocketWire

@testable import RecordFormat

/// Closes `writer` on a disk that is still full: the last block is dropped (close says so by
/// throwing `.io` after writing the gap, the index and the trailer).
func closeDroppingTheLastBlock(_ writer: RecordFileWriter) {
    do {
        try writer.close()
        Issue.record("closing on a full disk should report the dropped last block")
    } catch {
        #expect(error.code == .io && error.message.contains("a gap block will say what was lost"), "\(error)")
    }
}

func sequenceNumber(_ record: Record) -> UInt32? {
    guard case .frame(let frame) = record.body, frame.payload.count >= 4 else { return nil }
    return frame.payload.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
}

@Suite("Gap blocks: what the writer lost (format 1.2)")
struct GapTests {
    static let start1 = GapScenario.start1
    static let start2 = GapScenario.start2

    func smallBlocks() -> RecordWriterConfiguration {
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 8192
        return configuration
    }

    @Test("a gap's payload decodes to what was encoded; its times come from the block header")
    func codecRoundTrip() throws {
        let gap = RecordGap(
            causes: [.writeFailed, .queueFull], detail: "No space left on device ✓", records: 7, payloadBytes: 3000,
            firstWallMicros: 10, lastWallMicros: 99,
            sessions: [
                RecordGap.SessionLoss(
                    session: 0, records: 1, firstTimeMicros: 50, lastTimeMicros: 50, firstWallMicros: 50,
                    lastWallMicros: 50),
                RecordGap.SessionLoss(
                    session: 3, records: 6, clientToTarget: .init(frames: 2, bytes: 1000),
                    targetToClient: .init(frames: 4, bytes: 2000),
                    firstTimeMicros: 1, lastTimeMicros: UInt64.max, firstWallMicros: Int64.min,
                    lastWallMicros: Int64.max),
            ])
        let payload = gap.encodedPayload()
        #expect(payload.count == 24 + "No space left on device ✓".utf8.count + 2 * RecordGap.entryLength)
        #expect(payload.count <= gap.encodedBlockLength - BlockHeader.fixedLength)
        let header = BlockHeader(
            kind: .gap, codec: .stored, storedLength: payload.count, rawLength: payload.count, recordCount: 0,
            firstWallMicros: 10, lastWallMicros: 99, payloadCRC: 0, sessions: [3])
        let decoded = payload.withUnsafeBytes { RecordGap.decode($0, header: header) }
        #expect(decoded == gap)
        // Every shorter payload, and one with a byte too many, is malformed.
        for cut in 0..<payload.count {
            #expect(
                Array(payload.prefix(cut)).withUnsafeBytes { RecordGap.decode($0, header: header) } == nil,
                "cut at \(cut)")
        }
        #expect((payload + [0]).withUnsafeBytes { RecordGap.decode($0, header: header) } == nil)
        #expect(RecordGap.Causes(rawValue: 0x81).names == ["write-failed", "cause-128"])
    }

    @Test("a malformed gap block is a corrupt block; the blocks around it are read")
    func malformedGapBlock() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("bad-gap.rec").path
        let bytes = try writeRecording(sampleRecords(), to: path)
        let decoded = try decodeAll(bytes, chunk: bytes.count)
        // A gap block whose entry count does not match its payload, with valid CRCs, after the records.
        var payload = RecordGap(
            causes: .writeFailed, detail: "", records: 0, payloadBytes: 0, firstWallMicros: 0, lastWallMicros: 0,
            sessions: []
        ).encodedPayload()
        payload[payload.count - 4] = 1
        let (header, _) = BlockBuilder.makeBlock(
            kind: .gap, payload: BlockPayload(payload), recordCount: 0, firstWall: 0, lastWall: 0, sessions: [],
            compressor: nil)
        let first = try #require(decoded.blocks.first)
        let end = Int(first.offset) + first.totalLength
        let broken = Array(bytes[..<end]) + header.encoded() + payload + Array(bytes[end...])
        let again = try decodeAll(broken, chunk: 7)
        #expect(again.records == decoded.records)
        #expect(again.damages.map(\.kind) == [.corruptBlock])
        #expect(again.damages.first?.message == "gap block is malformed")
        #expect(again.damages.first?.recordsLost == nil)
    }

    @Test("a full disk drops whole blocks; one gap names every lost record; close records and the index still fit")
    func fullDisk() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("full.rec").path
        let disk = FakeDisk(size: 120_000)
        let writer = try RecordFileWriter(path: path, configuration: smallBlocks(), clock: ManualClock())
        writer.system = disk.system()
        var scenario = GapScenario(writer: writer)
        scenario.open(1, start: Self.start1)
        scenario.open(2, start: Self.start2)
        for i in 0..<200 {
            scenario.frame(
                UInt32(1 + i % 2), i % 3 == 0 ? .clientToTarget : .targetToClient, size: 1500, at: UInt64(1000 + i))
        }
        scenario.close(1, at: 5000)
        scenario.close(2, at: 6000)
        closeDroppingTheLastBlock(writer)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size <= 120_000)
        #expect(writer.gapsWritten == 1, "one outage, one gap")
        let (records, gaps) = try expectAccounted(path, scenario.appended)
        let gap = try #require(gaps.first)
        #expect(gap.causes == .writeFailed)
        #expect(gap.detail == SystemFile.errnoText(ENOSPC))
        #expect(gap.sessions.map(\.session) == [1, 2])
        // Frames only: the open and close records were kept aside and written after the gap.
        #expect(gap.sessions.allSatisfy { $0.records == $0.clientToTarget.frames + $0.targetToClient.frames })
        let closes = records.filter { if case .close = $0.body { true } else { false } }
        #expect(closes.map(\.session) == [1, 2])
        let loss1 = try #require(gap.sessions.first)
        #expect(loss1.firstWallMicros == Self.start1 + Int64(loss1.firstTimeMicros))
        #expect(loss1.lastWallMicros == Self.start1 + Int64(loss1.lastTimeMicros))
        let report = try RecordVerifier.verify(path: path)
        #expect(report.hasIndex && report.isClean && !report.isComplete)
        // What was lost is one run of the sequence, between what came before and after it.
        let sequences = records.compactMap(sequenceNumber)
        #expect(sequences == Array(0..<UInt32(sequences.count)), "everything before the outage, in order")
    }

    @Test("when space comes back, the gap goes where the records were lost, and recording goes on")
    func spaceComesBack() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("back.rec").path
        let (disk, writer, start) = try GapScenario.floodSessionOne(path, diskSize: 60_000)
        var scenario = start
        #expect(writer.recordsLost > 0)
        #expect(writer.pendingGaps.count == 1)
        disk.size = 10_000_000  // someone deleted a file
        for i in 100..<150 { scenario.frame(1, .targetToClient, size: 1500, at: UInt64(i)) }
        scenario.close(1, at: 200)
        try writer.close()
        #expect(writer.gapsWritten == 1)
        let reader = try RecordFileReader(path: path)
        var before: [UInt32] = []
        var after: [UInt32] = []
        var gap: RecordGap?
        while let entry = try reader.nextEntry() {
            switch entry {
            case .gap(let g): gap = g
            case .record(let record):
                if let n = sequenceNumber(record) {
                    if gap == nil { before.append(n) } else { after.append(n) }
                }
            }
        }
        let lost = try #require(gap?.sessions.first)
        #expect(before == Array(0..<UInt32(before.count)))
        #expect(UInt64(before.count) + lost.targetToClient.frames + UInt64(after.count) == 150)
        #expect(after == Array(UInt32(150 - after.count)..<150), "the rest, after the gap")
        #expect(lost.firstTimeMicros == UInt64(before.count) && lost.lastTimeMicros == UInt64(150 - after.count - 1))
        _ = try expectAccounted(path, scenario.appended)
    }

    @Test("where space cannot be reserved, failing writes are counted the same way")
    func unguardedWrites() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("unguarded.rec").path
        let disk = FakeDisk(size: .max)
        disk.code = EDQUOT
        let writer = try RecordFileWriter(path: path, configuration: smallBlocks(), clock: ManualClock())
        writer.system = disk.system(reserving: false)
        var scenario = GapScenario(writer: writer)
        scenario.open(1, start: Self.start1)
        for i in 0..<30 { scenario.frame(1, .clientToTarget, size: 2000, at: UInt64(i)) }
        disk.failWrites = true
        for i in 30..<60 { scenario.frame(1, .clientToTarget, size: 2000, at: UInt64(i)) }
        disk.failWrites = false
        for i in 60..<90 { scenario.frame(1, .clientToTarget, size: 2000, at: UInt64(i)) }
        scenario.close(1, at: 100)
        try writer.close()
        let (_, gaps) = try expectAccounted(path, scenario.appended)
        #expect(gaps.count == 1)
        #expect(gaps.first?.detail == SystemFile.errnoText(EDQUOT))
        #expect(try RecordFileReader(path: path).hasValidIndex())
    }

    @Test("the file size limit counts as the end of the disk (EFBIG): the tail still fits under it")
    func fileSizeLimit() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("limit.rec").path
        let writer = try RecordFileWriter(path: path, configuration: smallBlocks(), clock: ManualClock())
        var system = FakeDisk(size: .max).system()
        system.fileSizeLimit = 50_000
        writer.system = system
        var scenario = GapScenario(writer: writer)
        scenario.open(1, start: Self.start1)
        var failures: [String] = []
        for i in 0..<100 {
            let record = Record(
                session: 1, timeMicros: UInt64(i),
                body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: noise(1000, seed: UInt64(i)))))
            scenario.appended.append(record)
            do { try writer.append(record) } catch { failures.append(error.message) }
        }
        scenario.close(1, at: 200)
        try writer.close()
        #expect(failures.first?.contains("File too large") == true, "\(failures.first ?? "no failure")")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size <= 50_000)
        let (_, gaps) = try expectAccounted(path, scenario.appended)
        #expect(gaps.first?.detail == "File too large")
        #expect(try RecordFileReader(path: path).hasValidIndex())
    }

    @Test("many sessions opening and closing on a full disk: kept aside while the reserve lasts, counted lost after")
    func keptAsideBudget() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("sessions.rec").path
        let (_, writer, start) = try GapScenario.floodSessionOne(path, diskSize: 100_000)
        var scenario = start
        // The disk is full: 400 short sessions come and go.
        for session in UInt32(2)..<402 {
            scenario.open(session, start: Self.start2 + Int64(session))
            scenario.frame(session, .targetToClient, size: 100, at: 1)
            scenario.close(session, at: 2)
        }
        scenario.close(1, at: 500)
        closeDroppingTheLastBlock(writer)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size <= 100_000)
        let (records, gaps) = try expectAccounted(path, scenario.appended, unlisted: true)
        #expect(try RecordFileReader(path: path).hasValidIndex())
        let gap = try #require(gaps.first)
        #expect(gaps.count == 1)
        #expect(gap.records > gap.sessions.reduce(0) { $0 + $1.records }, "some sessions are counted in the totals only")
        #expect(RecordGapFormatter.lines(gap).last?.contains("of other sessions lost at") == true)
        let closes = Set(records.compactMap { if case .close = $0.body { $0.session } else { nil } })
        #expect(closes.contains(1), "the open session's close had its space reserved")
        #expect(closes.count > 20, "many closes were kept aside: \(closes.count)")
        #expect(gap.sessions.count > 20, "many sessions are named in the gap: \(gap.sessions.count)")
    }

    @Test("a full queue: the dropped records, per session, become a gap block after what was queued before")
    func queueFull() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("queue.rec").path
        let recorder = try BackgroundRecorder(path: path, configuration: .init(queueByteLimit: 64 << 10))
        let sessions = [recorder.allocateSession(), recorder.allocateSession()]
        for session in sessions {
            recorder.submit(
                Record(session: session, timeMicros: 0, body: .open(SessionOpen(startWallMicros: Self.start1))))
        }
        var dropped: [UInt32: (count: UInt64, bytes: UInt64)] = [:]
        for i in 0..<10_000 {
            let session = sessions[i % 2]
            let frame = Frame(
                direction: i % 3 == 0 ? .clientToTarget : .targetToClient, opcode: .binary,
                payload: [UInt8](repeating: 7, count: 4000 + i % 2))
            if !recorder.submit(Record(session: session, timeMicros: UInt64(i), body: .frame(frame))) {
                dropped[session, default: (0, 0)].count += 1
                dropped[session, default: (0, 0)].bytes += UInt64(frame.payload.count)
            }
        }
        recorder.close()
        #expect(!dropped.isEmpty, "the queue overflowed")
        let reader = try RecordFileReader(path: path)
        while try reader.nextRecord() != nil {}
        #expect(reader.damages.isEmpty)
        #expect(!reader.gaps.isEmpty)
        #expect(reader.gaps.allSatisfy { $0.causes == .queueFull })
        for session in sessions {
            let losses = reader.gaps.flatMap(\.sessions).filter { $0.session == session }
            #expect(losses.reduce(0) { $0 + $1.records } == dropped[session]?.count ?? 0)
            #expect(losses.reduce(0) { $0 + $1.payloadBytes } == dropped[session]?.bytes ?? 0)
            #expect(losses.allSatisfy { $0.firstWallMicros == Self.start1 + Int64($0.firstTimeMicros) })
        }
        // No text marker any more: the gap block says it.
        let markers = try RecordSource(path: path).readAll().filter {
            if case .marker = $0.body { true } else { false }
        }
        #expect(markers.isEmpty)
    }
}
