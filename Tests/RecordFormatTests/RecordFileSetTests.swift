import Foundation
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordFormat

/// The files of a rotated or per-session recording (issue 17 §3): rotation closes a complete file
/// between blocks, and a session that goes on is found, with the same identity, in both files.
@Suite("Recording files: rotation and a file per session")
struct RecordFileSetTests {
    final class Closed: @unchecked Sendable {
        private let lock = NSLock()
        private var files: [ClosedRecordFile] = []
        func add(_ file: ClosedRecordFile) { lock.withLock { files.append(file) } }
        var all: [ClosedRecordFile] { lock.withLock { files } }
    }

    static func open(_ token: String? = nil, instance: String = "test") -> SessionOpen {
        SessionOpen(
            startWallMicros: 1_764_000_000_000_000, clientAddress: "127.0.0.1:1", listenAddress: "127.0.0.1:2",
            target: token.map { .token($0) } ?? .hostPort("127.0.0.1:5900"), requestPath: "/",
            identity: .random(instance: instance))
    }

    static func frame(_ session: UInt32, _ time: UInt64, _ bytes: Int, seed: UInt8 = 1) -> Record {
        Record(
            session: session, timeMicros: time,
            body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) })))
    }

    static var configuration: RecordWriterConfiguration {
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 16 << 10
        configuration.compress = false
        configuration.syncOnClose = false
        return configuration
    }

    static func records(_ path: String) throws -> [Record] { try RecordSource(path: path).readAll() }

    static func rotatedFiles(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".rec") }.sorted()
            .map { dir.appendingPathComponent($0).path }
    }

    @Test("by size: the full file is closed with its index, the open session goes on in the next with the same identity")
    func rotateBySize() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clock = ManualClock()
        let closed = Closed()
        let files = try RecordFileSet(
            layout: .rotating(base: dir.appendingPathComponent("desk").path, rotation: .size(64 << 10)),
            configuration: Self.configuration, clock: clock, onClosed: closed.add)
        let session = files.firstSession
        let open = Self.open()
        try files.append(Record(session: session, timeMicros: 0, body: .open(open)))
        var time: UInt64 = 0
        // 100 KiB in 4 KiB frames: the 64 KiB rotation falls inside the stream.
        for _ in 0..<25 {
            time += 1000
            try files.append(Self.frame(session, time, 4096))
            try files.noteLost(RecordLossTally())
            try files.sealIfDue()
        }
        try files.append(Record(session: session, timeMicros: time + 1, body: .close(SessionClose(closedBy: .client))))
        try files.close()

        let paths = try Self.rotatedFiles(dir)
        try #require(paths.count == 2, "\(paths)")
        #expect(closed.all.map(\.path) == paths)
        #expect(closed.all.allSatisfy { $0.error == nil })
        let stamp = RecordFileName.timestamp(wallMicros: clock.wallMicros())
        #expect(paths[0].hasSuffix("desk-\(stamp).rec"), "the first file")
        #expect(paths[1].hasSuffix("desk-\(stamp)_s0002.rec"), "a second file in the same second gets _s0002")
        for path in paths {
            let report = try RecordVerifier.verify(path: path)
            #expect(report.isClean && report.hasIndex, "\(path): \(report.damages) \(report.problems)")
        }
        let first = try Self.records(paths[0])
        let second = try Self.records(paths[1])
        // The first file: the open, frames up to the rotation, a marker naming the next file; no close.
        #expect(first.first?.body == .open(open))
        #expect(!first.contains { if case .close = $0.body { true } else { false } })
        #expect(first.last?.body == .marker("recording continues in \(URL(fileURLWithPath: paths[1]).lastPathComponent)"))
        let firstFrames = first.filter { if case .frame = $0.body { true } else { false } }
        #expect(firstFrames.count * 4096 >= 64 << 10)
        // The second: a marker, the same open (same identity and start) at the time of the last record, the rest, the close.
        #expect(second[0].body == .marker("recording continued from \(URL(fileURLWithPath: paths[0]).lastPathComponent)"))
        #expect(second[1].session == session)
        #expect(second[1].body == .open(open))
        #expect(second[1].timeMicros == firstFrames.last?.timeMicros)
        let secondFrames = second.filter { if case .frame = $0.body { true } else { false } }
        #expect(firstFrames.count + secondFrames.count == 25, "no frame lost or doubled")
        #expect((firstFrames + secondFrames).map(\.timeMicros) == (1...25).map { UInt64($0) * 1000 })
        #expect(second.last.map { if case .close = $0.body { true } else { false } } == true)
        // Blocks are never split: every block of both files decodes whole (the verifier read them all).
    }

    @Test("by time: at the whole interval boundary, not before")
    func rotateByTime() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clock = ManualClock()
        let files = try RecordFileSet(
            layout: .rotating(base: dir.appendingPathComponent("t").path, rotation: .interval(micros: 10_000_000)),
            configuration: Self.configuration, clock: clock)
        let toBoundary = UInt64(10_000_000 - clock.wallMicros() % 10_000_000)
        try files.append(Record(session: 1, timeMicros: 0, body: .open(Self.open())))
        clock.advance(micros: toBoundary - 1)
        try files.append(Self.frame(1, toBoundary - 1, 10))
        try files.sealIfDue()
        #expect(try Self.rotatedFiles(dir).count == 1)
        clock.advance(micros: 1)
        try files.sealIfDue()
        #expect(try Self.rotatedFiles(dir).count == 2)
        clock.advance(micros: 9_999_999)
        try files.sealIfDue()
        #expect(try Self.rotatedFiles(dir).count == 2)
        clock.advance(micros: 1)
        try files.sealIfDue()
        try files.close()
        let paths = try Self.rotatedFiles(dir)
        #expect(paths.count == 3)
        // Each file after the first opens with the session that is still open.
        for path in paths.dropFirst() {
            #expect(try Self.records(path).contains { $0.session == 1 && { if case .open = $0.body { true } else { false } }($0) })
        }
    }

    @Test("a next file that cannot be made: recording goes on in the old one, and rotation is tried again later")
    func rotationFails() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sub = dir.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: false)
        let clock = ManualClock()
        let files = try RecordFileSet(
            layout: .rotating(base: sub.appendingPathComponent("r").path, rotation: .size(64 << 10)),
            configuration: Self.configuration, clock: clock)
        // The directory goes away under the open file (as a full or read-only disk would refuse the new one).
        let moved = dir.appendingPathComponent("moved")
        try FileManager.default.moveItem(at: sub, to: moved)
        try files.append(Record(session: 1, timeMicros: 0, body: .open(Self.open())))
        for index in 1...20 { try files.append(Self.frame(1, UInt64(index), 4096)) }
        try files.sealIfDue()
        let failure = try #require(files.takeRotationFailure())
        #expect(failure.message.hasPrefix("cannot start the next file, recording goes on in \(sub.path)/r-"))
        #expect(files.takeRotationFailure() == nil)
        try files.sealIfDue()  // not again before the retry interval: no second failure
        #expect(files.takeRotationFailure() == nil)
        try files.append(Self.frame(1, 21, 100))
        try FileManager.default.moveItem(at: moved, to: sub)
        clock.advance(micros: 10_000_000)
        try files.sealIfDue()
        try files.close()
        let paths = try Self.rotatedFiles(sub)
        #expect(paths.count == 2)
        let frames = try paths.flatMap(Self.records).filter { if case .frame = $0.body { true } else { false } }
        #expect(frames.count == 21)
        for path in paths { #expect(try RecordVerifier.verify(path: path).isClean) }
    }

    @Test("a file per session, named by start, token and identity, closed as the session ends")
    func perSession() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let closed = Closed()
        let files = try RecordFileSet(
            layout: .perSession(directory: dir.path), configuration: Self.configuration, clock: ManualClock(),
            onClosed: closed.add)
        let a = Self.open("desk/1")
        let b = Self.open()
        try files.append(Record(session: 1, timeMicros: 0, body: .open(a)))
        try files.append(Record(session: 2, timeMicros: 0, body: .open(b)))
        try files.append(Self.frame(1, 5, 10))
        try files.append(Self.frame(2, 6, 20))
        try files.append(Record(session: 0, timeMicros: 7, body: .marker("file-level")))
        try files.append(Record(session: 1, timeMicros: 8, body: .close(SessionClose(closedBy: .client))))
        try files.noteLost(RecordLossTally())
        #expect(closed.all.isEmpty, "closed at the end of the batch, after its losses")
        try files.sealIfDue()
        try #require(closed.all.count == 1)
        let stamp = RecordFileName.timestamp(wallMicros: a.startWallMicros)
        #expect(closed.all[0].path == dir.path + "/\(stamp)-desk%2F1-\(a.identity!.uuidString).rec")
        #expect(try Self.records(closed.all[0].path).map(\.session) == [1, 1, 1])
        #expect(try RecordVerifier.verify(path: closed.all[0].path).hasIndex)
        try files.close()
        #expect(closed.all.count == 2)
        #expect(closed.all[1].path == dir.path + "/\(stamp)-\(b.identity!.uuidString).rec")
        #expect(try Self.records(closed.all[1].path).map(\.session) == [2, 2])
    }

    @Test("per-session files reserve disk space 256 KiB at a time, not 8 MiB (hundreds are open at once)")
    func perSessionReservation() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func allocated(_ path: String) -> Int {
            var info = stat()
            _ = stat(path, &info)
            return Int(info.st_blocks) * 512
        }
        let single = dir.appendingPathComponent("single.rec").path
        let files = try RecordFileSet(
            layout: .perSession(directory: dir.path), configuration: Self.configuration, clock: ManualClock())
        let lone = try RecordFileSet(
            layout: .single(path: single), configuration: Self.configuration, clock: ManualClock())
        for set in [files, lone] {
            try set.append(Record(session: 1, timeMicros: 0, body: .open(Self.open())))
            try set.append(Self.frame(1, 1, 20_000))
            try set.sealIfDue()
        }
        let perSession = try #require(try Self.rotatedFiles(dir).first { $0 != single })
        // Where the file system reserves (ext4 and tmpfs do; the test's directory is on one), a single
        // file holds its 8 MiB step until it is closed.
        try #require(allocated(single) >= 8 << 20, "this file system does not reserve: \(allocated(single)) bytes")
        #expect(allocated(perSession) <= 512 << 10, "\(allocated(perSession)) bytes")
        try files.close()
        try lone.close()
    }

    @Test("a per-session directory that is missing or not a directory is refused at the start")
    func unusableDirectory() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("plain")
        _ = FileManager.default.createFile(atPath: file.path, contents: Data())
        for path in [dir.appendingPathComponent("missing").path, file.path] {
            #expect {
                _ = try RecordFileSet(layout: .perSession(directory: path), configuration: Self.configuration)
            } throws: { error in
                (error as? RecordFormatError)?.message.hasPrefix("cannot record into this directory") == true
            }
        }
    }
}
