import Foundation
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordFormat

/// Holds a ``BackgroundRecorder``'s writer thread inside its `onEvent` callback, so that a test
/// can submit records at a known point of the writer's loop.
final class WriterGate: @unchecked Sendable {
    private let lock = NSLock()
    private var holdNext = false
    private var events: [BackgroundRecorder.Event] = []
    private let held = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)

    /// The next `.dropped` event stops the writer thread until ``release()``.
    func holdAtNextDrop() { lock.withLock { holdNext = true } }

    /// Waits until the writer thread is held; false after 10 s.
    func waitUntilHeld() -> Bool { held.wait(timeout: .now() + 10) == .success }

    func release() { released.signal() }

    /// Records reported dropped so far.
    var droppedRecords: Int {
        lock.withLock {
            events.reduce(0) {
                guard case .dropped(let records, _) = $1 else { return $0 }
                return $0 + records
            }
        }
    }

    func handle(_ event: BackgroundRecorder.Event) {
        let hold = lock.withLock {
            events.append(event)
            guard case .dropped = event, holdNext else { return false }
            holdNext = false
            return true
        }
        guard hold else { return }
        held.signal()
        released.wait()
    }
}

@Suite("Gap blocks: review fixes (issue 12 §2)")
struct GapReviewTests {
    static let start: Int64 = 1_764_000_000_000_000

    func frame(_ session: UInt32, size: Int, at time: UInt64) -> Record {
        Record(
            session: session, timeMicros: time,
            body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: [UInt8](repeating: 7, count: size))))
    }

    func open(_ session: UInt32) -> Record {
        Record(
            session: session, timeMicros: 0,
            body: .open(SessionOpen(startWallMicros: Self.start, target: .hostPort("127.0.0.1:5900"))))
    }

    func marker(_ text: String) -> Record { Record(session: 0, timeMicros: 1, body: .marker(text)) }

    @Test("a frame submitted after a dropped one of the same session never lands before the gap")
    func nothingQueuedAfterADrop() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("order.rec").path
        let gate = WriterGate()
        gate.holdAtNextDrop()
        let limit = 100_000
        let recorder = try BackgroundRecorder(
            path: path, configuration: .init(queueByteLimit: limit, tickNanos: 5_000_000),
            onEvent: { gate.handle($0) })
        let session = recorder.allocateSession()
        #expect(recorder.submit(open(session)))
        // Bigger than the whole queue: dropped; the writer reports it and is held there, with the
        // queue just swapped out (empty).
        #expect(!recorder.submit(frame(session, size: limit, at: 1)))
        try #require(gate.waitUntilHeld())
        #expect(recorder.submit(frame(session, size: 60_000, at: 2)))
        #expect(!recorder.submit(frame(session, size: 60_000, at: 3)))  // over the limit: lost
        let later = recorder.submit(frame(session, size: 100, at: 4))  // would fit, but comes after the loss
        gate.release()
        recorder.close()
        #expect(!later, "a record after a drop was queued ahead of the gap that reports the drop")

        let reader = try RecordFileReader(path: path)
        var order: [String] = []
        while let entry = try reader.nextEntry() {
            switch entry {
            case .gap(let gap): order.append("gap \(gap.records)")
            case .record(let record):
                if case .frame(let f) = record.body { order.append("frame at \(record.timeMicros) \(f.payload.count)") }
            }
        }
        // What was sent at 4 is either lost (in the last gap) or comes after it, never before.
        #expect(order == ["gap 1", "frame at 2 60000", "gap 2"], "\(order)")
    }

    @Test("records submitted while the writer closes, after it took the late ones, are still reported")
    func recordsAfterTheLastLookAreReported() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("late.rec").path
        let gate = WriterGate()
        gate.holdAtNextDrop()
        let recorder = try BackgroundRecorder(
            path: path, configuration: .init(queueByteLimit: 1 << 20, tickNanos: 5_000_000),
            onEvent: { gate.handle($0) })
        var refused = 0
        if !recorder.submit(frame(0, size: 2 << 20, at: 1)) { refused += 1 }  // over the limit
        try #require(gate.waitUntilHeld())
        let closed = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            recorder.close()
            closed.signal()
        }
        // Once close() has begun, submissions are refused; the first refused one is in the tally
        // the writer looks at before closing.
        var tries = 0
        while recorder.submit(marker("before close")) {
            tries += 1
            try #require(tries < 10_000)
            usleep(1000)
        }
        refused += 1
        gate.holdAtNextDrop()
        gate.release()
        // Held again while reporting the late ones: what comes now is after the writer's last look.
        try #require(gate.waitUntilHeld())
        #expect(!recorder.submit(marker("after the last look")))
        refused += 1
        gate.release()
        try #require(closed.wait(timeout: .now() + 10) == .success)
        #expect(gate.droppedRecords == refused)
    }

    /// A writer on `disk` that wrote session 1's open record and a block of frames, with space
    /// reserved ahead; then the disk is full.
    func writerOnAFullDisk(_ path: String, _ disk: FakeDisk) throws -> RecordFileWriter {
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 8192
        let writer = try RecordFileWriter(path: path, configuration: configuration, clock: ManualClock())
        writer.system = disk.system()
        try writer.append(open(1))
        for i in 0..<4 { try writer.append(frame(1, size: 3000, at: UInt64(i + 1))) }
        try writer.seal()
        disk.size = disk.allocated  // someone else took every free block
        return writer
    }

    @Test(
        "a failed block write keeps the space reserved for what close() writes",
        arguments: [false, true])
    func failedWriteKeepsTheReservation(verbatim: Bool) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("reserve.rec").path
        let disk = FakeDisk(size: 1 << 30)
        disk.truncateFreesReservation = true
        let writer = try writerOnAFullDisk(path, disk)
        let reserved = disk.allocated
        disk.failWrites = true  // one write fails (an I/O error), its partial block is cut
        disk.code = EIO
        if verbatim {
            #expect(throws: RecordFormatError.self) { try writer.appendVerbatimBlock([UInt8](repeating: 1, count: 100)) }
        } else {
            try writer.append(frame(1, size: 3000, at: 10))
            #expect(throws: RecordFormatError.self) { try writer.seal() }
        }
        disk.failWrites = false
        disk.code = ENOSPC
        #expect(disk.allocated == reserved, "the reservation was given up")
        disk.size = disk.allocated  // and the freed blocks were taken at once
        try writer.close()
        let reader = try RecordFileReader(path: path)
        while try reader.nextRecord() != nil {}
        #expect(reader.damages.isEmpty, "\(reader.damages)")
        #expect(reader.gaps.count == (verbatim ? 0 : 1))
    }

    @Test("losses of more sessions than the reserve can list are counted in the gap's totals")
    func noteLostKeepsTheGapInTheReserve() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("many.rec").path
        let disk = FakeDisk(size: 1 << 20)  // less than a reservation step: only what is needed is reserved
        let writer = try writerOnAFullDisk(path, disk)
        var tally = RecordLossTally()
        let sessions: UInt32 = 2000
        for session in 1...sessions {
            tally.add(
                session: session, timeMicros: 5, wallMicros: 0, frame: (.clientToTarget, 10), cause: .queueFull)
        }
        try writer.noteLost(tally)
        try writer.close()
        let reader = try RecordFileReader(path: path)
        while try reader.nextRecord() != nil {}
        #expect(reader.damages.isEmpty, "\(reader.damages)")
        #expect(reader.gaps.reduce(0) { $0 + $1.records } == UInt64(sessions))
        #expect(reader.gaps.reduce(0) { $0 + $1.payloadBytes } == UInt64(sessions) * 10)
        let listed = reader.gaps.reduce(0) { $0 + $1.sessions.count }
        #expect(listed >= 1 && listed < Int(sessions), "\(listed) sessions listed")
    }

    @Test("a loss of a session closed in a block sealed before it gets the session's wall-clock times")
    func lossAfterTheCloseWasSealed() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("closed.rec").path
        let writer = try RecordFileWriter(path: path, clock: ManualClock())
        try writer.append(open(1))
        try writer.append(Record(session: 1, timeMicros: 900, body: .close(SessionClose(closedBy: .target, code: 1000))))
        try writer.seal()  // as a batch does when its block fills
        var tally = RecordLossTally()
        tally.add(session: 1, timeMicros: 500, wallMicros: 0, frame: (.clientToTarget, 10), cause: .queueFull)
        try writer.noteLost(tally)
        try writer.close()
        let reader = try RecordFileReader(path: path)
        while try reader.nextRecord() != nil {}
        let loss = try #require(reader.gaps.first?.sessions.first)
        #expect(loss.firstWallMicros == Self.start + 500)
        #expect(loss.lastWallMicros == Self.start + 500)
    }
}
