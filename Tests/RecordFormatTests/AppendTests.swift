import Foundation
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordFormat

@Suite("Appending runs and cutting torn tails")
struct AppendTests {
    @Test("reopening appends a new run: old records kept, sessions numbered on")
    func appendRun() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("runs.rec").path
        try writeRecording(sampleRecords(), to: path)
        let writer = try RecordFileWriter(path: path, clock: ManualClock())
        #expect(writer.appendReport.appended)
        #expect(writer.appendReport.lastExistingSession == 2)
        #expect(writer.appendReport.truncatedAt == nil)
        let session = writer.allocateSession()
        #expect(session == 3)
        let more = [
            Record(session: session, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 9))),
            Record(session: session, timeMicros: 5, body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: [9, 9]))),
        ]
        for record in more { try writer.append(record) }
        try writer.close()
        let records = try RecordSource(path: path).readAll()
        // Old records, the resumption marker, the new ones: anything shorter is reported, not indexed past.
        try #require(records.count == sampleRecords().count + 1 + more.count, "records read back: \(records.count)")
        #expect(Array(records.prefix(sampleRecords().count)) == sampleRecords())
        #expect(Array(records.suffix(2)) == more)
        let marker = records[sampleRecords().count]
        guard case .marker(let text) = marker.body else {
            Issue.record("a marker notes the resumed run")
            return
        }
        #expect(marker.session == 0)
        #expect(text.contains("resumed"))
        let report = try RecordVerifier.verify(path: path)
        #expect(report.isClean)
        #expect(report.hasIndex)
        #expect(report.sessions == [1, 2, 3])
        // Seeking trusts the new run's index: it describes every block, the earlier run's index and trailer included.
        #expect(try RecordFileReader(path: path).hasValidIndex())
    }

    @Test("a torn tail is cut back to the last good block before appending, and reported")
    func tornTailCut() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("torn.rec").path
        // A file whose writer died: blocks sealed, then half a block.
        let writer = try RecordFileWriter(path: path, clock: ManualClock())
        for record in sampleRecords().prefix(5) { try writer.append(record) }
        try writer.seal()
        let goodEnd = writer.endOffset
        for record in sampleRecords().dropFirst(5) { try writer.append(record) }
        try writer.seal()
        let fullEnd = writer.endOffset
        try writer.close()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let tornLength = Int(goodEnd) + Int(fullEnd - goodEnd) / 2
        try bytes.prefix(tornLength).write(to: URL(fileURLWithPath: path))

        let reopened = try RecordFileWriter(path: path, clock: ManualClock())
        #expect(reopened.appendReport.truncatedAt == goodEnd)
        #expect(reopened.appendReport.truncatedBytes == UInt64(tornLength) - goodEnd)
        #expect(reopened.appendReport.lastExistingSession == 2)
        try reopened.close()
        let records = try RecordSource(path: path).readAll()
        try #require(records.count == 6, "the 5 records of the good blocks and the marker; read back: \(records.count)")
        #expect(Array(records.prefix(5)) == Array(sampleRecords().prefix(5)))
        guard case .marker(let text) = records[5].body else {
            Issue.record("expected the resumption marker")
            return
        }
        #expect(text.contains("cut a torn tail of \(UInt64(tornLength) - goodEnd) bytes at byte \(goodEnd)"))
        #expect(try RecordVerifier.verify(path: path).isClean)
        #expect(try RecordFileReader(path: path).hasValidIndex())
    }

    @Test("a record too large for any block is refused and the file stays valid")
    func oversizeRecord() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("big.rec").path
        let writer = try RecordFileWriter(path: path, clock: ManualClock())
        try writer.append(sampleRecords()[0])
        let huge = Record(session: 1, timeMicros: 1, body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: [UInt8](repeating: 0, count: RecordFileWriter.maximumRecordSize))))
        let error = #expect(throws: RecordFormatError.self) { try writer.append(huge) }
        #expect(error?.code == .invalidArgument)
        try writer.close()
        #expect(try RecordSource(path: path).readAll() == [sampleRecords()[0]])
    }

    @Test("appending keeps a last block written by a newer version and numbers sessions past it")
    func newerBlockAtTheEnd() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("newer.rec").path
        try writeRecording(sampleRecords(), to: path)
        let future = DecoderTests.forgedBlock(kind: 9, codec: 0, payload: [1, 2, 3], sessions: [7])
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(future))
        try handle.close()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        let writer = try RecordFileWriter(path: path, clock: ManualClock())
        #expect(writer.appendReport.truncatedAt == nil, "nothing is cut")
        #expect(writer.endOffset == UInt64(size))
        #expect(writer.allocateSession() == 8)
        try writer.close()
        // The newer block is one the header walk passes: the index written now is still trusted.
        #expect(try RecordFileReader(path: path).hasValidIndex())
    }

    @Test("a second writer on the same file is refused while the first holds it")
    func oneWriterPerFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("locked.rec").path
        let first = try RecordFileWriter(path: path, clock: ManualClock())
        let error = #expect(throws: RecordFormatError.self) { try RecordFileWriter(path: path) }
        #expect(error?.message.contains("locked") == true)
        try first.close()
        let second = try RecordFileWriter(path: path)
        try second.close()
    }

    @Test("a file torn inside its own header starts over")
    func tornHeader() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("header.rec").path
        try Data(FileHeader.magic + [1, 0]).write(to: URL(fileURLWithPath: path))
        let writer = try RecordFileWriter(path: path, clock: ManualClock())
        #expect(!writer.appendReport.appended)
        #expect(writer.appendReport.truncatedAt == 0)
        try writer.append(sampleRecords()[0])
        try writer.close()
        #expect(try RecordSource(path: path).readAll() == [sampleRecords()[0]])
    }

    @Test("appending to something that is not a recording is refused and leaves it alone")
    func refuseForeign() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("notes.txt").path
        let text = Data("important notes, not a recording\n".utf8)
        try text.write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: RecordFormatError.self) { try RecordFileWriter(path: path) }
        #expect(error?.description.contains("refusing to append") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == text)
    }
}

@Suite("Recording from other threads")
struct BackgroundRecorderTests {
    @Test("records submitted from several threads all reach the file, per session in order")
    func concurrentSubmit() async throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("bg.rec").path
        let recorder = try BackgroundRecorder(path: path)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let session = recorder.allocateSession()
                    recorder.submit(Record(session: session, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 1))))
                    for i in 0..<500 {
                        recorder.submit(Record(session: session, timeMicros: UInt64(i), body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: [UInt8](repeating: UInt8(i & 0xFF), count: 64)))))
                    }
                    recorder.submit(Record(session: session, timeMicros: 500, body: .close(SessionClose(closedBy: .client))))
                }
            }
        }
        recorder.close()
        let records = try RecordSource(path: path).readAll()
        #expect(records.count == 4 * 502)
        for session in UInt32(1)...4 {
            let times = records.filter { $0.session == session }.map(\.timeMicros)
            #expect(times.count == 502)
            #expect(times == times.sorted())
        }
        #expect(try RecordVerifier.verify(path: path).hasIndex)
    }

    /// Frame records in the file so far (the recorder still open: blocks are sealed at once here).
    private func framesOnDisk(_ path: String) -> Int {
        ((try? RecordSource(path: path).readAll()) ?? []).filter { if case .frame = $0.body { true } else { false } }.count
    }

    private func waitForFrames(_ path: String, count: Int, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if framesOnDisk(path) >= count { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return false
    }

    @Test("a few small records wait for the writer's tick, then reach the file")
    func smallRecordsWaitForTheTick() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("tick.rec").path
        let recorder = try BackgroundRecorder(
            path: path,
            configuration: .init(tickNanos: 4_000_000_000, wakeByteThreshold: 1 << 20, writer: .init(sealIntervalNanos: 0)))
        defer { recorder.close() }
        Thread.sleep(forTimeInterval: 0.05)  // the writer is waiting
        let frame = Frame(direction: .targetToClient, opcode: .binary, payload: [1, 2, 3])
        recorder.submit(Record(session: 1, timeMicros: 0, body: .frame(frame)))
        Thread.sleep(forTimeInterval: 0.1)
        #expect(framesOnDisk(path) == 0, "below the threshold the writer is not woken")
        #expect(waitForFrames(path, count: 1, seconds: 20), "the tick writes it")
    }

    @Test("a waiting writer is woken once the wake threshold is queued, long before its tick")
    func thresholdWakesTheWriter() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("wake.rec").path
        let recorder = try BackgroundRecorder(
            path: path,
            configuration: .init(tickNanos: 60_000_000_000, wakeByteThreshold: 64 << 10, writer: .init(sealIntervalNanos: 0)))
        defer { recorder.close() }
        Thread.sleep(forTimeInterval: 0.05)
        // 16 records of 4 KiB (plus the per-record overhead the queue counts) cross 64 KiB.
        for i in 0..<16 {
            let frame = Frame(direction: .targetToClient, opcode: .binary, payload: [UInt8](repeating: UInt8(i), count: 4096))
            recorder.submit(Record(session: 1, timeMicros: UInt64(i), body: .frame(frame)))
        }
        #expect(waitForFrames(path, count: 16, seconds: 10), "crossing the threshold wakes the writer (its tick is a minute away)")
    }

    @Test("a full queue drops records, keeps memory bounded, and records the gap in the file")
    func boundedQueue() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("gap.rec").path
        let events = EventLog()
        // A tiny queue limit; submitting far faster than any disk write guarantees drops.
        let recorder = try BackgroundRecorder(
            path: path, configuration: .init(queueByteLimit: 64 << 10), onEvent: { events.add($0) })
        let session = recorder.allocateSession()
        recorder.submit(Record(session: session, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 1))))
        var accepted = 0
        for i in 0..<20_000 {
            if recorder.submit(Record(session: session, timeMicros: UInt64(i), body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: [UInt8](repeating: 7, count: 4096))))) {
                accepted += 1
            }
        }
        recorder.close()
        #expect(accepted < 20_000)
        let records = try RecordSource(path: path).readAll()
        let frames = records.filter { if case .frame = $0.body { true } else { false } }
        #expect(frames.count == accepted)
        // A gap block (not a text marker) counts every dropped frame and its bytes.
        let reader = try RecordFileReader(path: path)
        while try reader.nextRecord() != nil {}
        #expect(!reader.gaps.isEmpty)
        #expect(reader.gaps.reduce(0) { $0 + $1.records } == UInt64(20_000 - accepted))
        #expect(reader.gaps.reduce(0) { $0 + $1.payloadBytes } == UInt64(20_000 - accepted) * 4096)
        #expect(reader.gaps.allSatisfy { $0.causes == .queueFull && $0.sessions.map(\.session) == [session] })
        #expect(events.droppedTotal == 20_000 - accepted)
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var dropped = 0
    func add(_ event: BackgroundRecorder.Event) {
        if case .dropped(let records, _) = event { lock.withLock { dropped += records } }
    }
    var droppedTotal: Int { lock.withLock { dropped } }
}
