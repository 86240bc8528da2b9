import Foundation
import RecordTestSupport
import Testing

@testable import RecordFormat

#if canImport(Glibc)
    import Glibc
#endif

/// Whatever someone else put at the recording path beforehand must not receive the recording:
/// a link is not followed, a FIFO or directory is refused, a file of another user is refused, and
/// an empty file put there with an open mode is made as private as a new recording.
@Suite("A file placed at the recording path (issue 19 §4)")
struct PlacedFileTests {
    /// Opens `path` for recording (as `websockify --record` does) and records one session.
    private func record(_ path: String, mode: UInt32 = 0o600) throws -> RecordFileWriter.AppendReport {
        var configuration = RecordWriterConfiguration()
        configuration.fileMode = mode
        let writer = try RecordFileWriter(path: path, configuration: configuration, clock: ManualClock())
        for record in sampleRecords() { try writer.append(record) }
        try writer.close()
        return writer.appendReport
    }

    /// The error opening `path` for recording gives.
    private func refusal(_ path: String) throws -> RecordFormatError {
        let error = try #require(throws: RecordFormatError.self) { _ = try record(path) }
        #expect(error.path == path)
        return error
    }

    /// An empty file with permission bits `mode` at `path`.
    private func placeEmpty(_ path: String, mode: Int) throws {
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    @Test("a symbolic link is not followed: to an empty 0666 file, to a recording, or dangling")
    func symbolicLinks() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let placed = dir.appendingPathComponent("placed").path
        try placeEmpty(placed, mode: 0o666)
        let existing = dir.appendingPathComponent("existing.rec").path
        let recorded = try writeRecording(sampleRecords(), to: existing)
        for (name, target) in [("empty.rec", placed), ("recording.rec", existing), ("dangling.rec", dir.path + "/none")] {
            let link = dir.appendingPathComponent(name).path
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
            let error = try refusal(link)
            #expect(error.message == "is a symbolic link; recordings are not written through links", "\(name)")
        }
        // Nothing reached the files the links point to, and nothing was made where one dangles.
        #expect(try Data(contentsOf: URL(fileURLWithPath: placed)).isEmpty)
        #expect(try permissions(placed) == 0o666)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: existing))) == recorded)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/none"))
    }

    @Test("an empty file put there gets the configured mode before the header is written; so does a torn header")
    func emptyFileTakesTheMode() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("placed.rec").path
        for (placedMode, configured) in [(0o666, UInt32(0o600)), (0o604, UInt32(0o640)), (0o600, UInt32(0o644))] {
            try? FileManager.default.removeItem(atPath: path)
            try placeEmpty(path, mode: placedMode)
            let report = try record(path, mode: configured)
            #expect(!report.appended)
            #expect(try permissions(path) == Int(configured), "placed \(String(placedMode, radix: 8))")
            #expect(try RecordSource(path: path).readAll().count == sampleRecords().count)
        }
        // A file torn inside its header is cut back to nothing and started again: it is new, too.
        let torn = dir.appendingPathComponent("torn.rec").path
        #expect(FileManager.default.createFile(atPath: torn, contents: Data(FileHeader.magic.prefix(5))))
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: torn)
        #expect(try record(torn).truncatedBytes == 5)
        #expect(try permissions(torn) == 0o600)
    }

    @Test("a FIFO, a directory or a device is refused as not a regular file, without waiting on it")
    func notRegularFiles() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("fifo.rec").path
        try #require(mkfifo(fifo, 0o666) == 0)
        #expect(try refusal(fifo).message == "is a FIFO, not a regular file; recordings are written only into regular files")
        let directory = dir.appendingPathComponent("dir.rec").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        #expect(
            try refusal(directory).message
                == "is a directory, not a regular file; recordings are written only into regular files")
        #expect(
            try refusal("/dev/null").message
                == "is a character device, not a regular file; recordings are written only into regular files")
    }

    @Test(
        "a file of another user is refused, empty or a recording; nothing in it changes",
        .enabled(if: geteuid() == 0, "giving a file to another user takes root"))
    func otherUsersFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.rec").path
        try placeEmpty(empty, mode: 0o666)
        let recording = dir.appendingPathComponent("recording.rec").path
        let recorded = try writeRecording(sampleRecords(), to: recording)
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: recording)
        for path in [empty, recording] {
            try #require(chown(path, 4242, 4242) == 0)
            #expect(try refusal(path).message.hasPrefix("is owned by uid 4242, not by this process's uid \(geteuid());"))
            #expect(try permissions(path) == 0o666)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: empty)).isEmpty)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: recording))) == recorded)
    }

    @Test("a recording appended to keeps its mode and reports bits the configured mode does not grant")
    func appendedModeReported() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("kept.rec").path
        try writeRecording(sampleRecords(), to: path)
        for (existing, configured, wider) in [
            (0o644, UInt32(0o600), UInt32?(0o644)), (0o640, 0o640, nil), (0o600, 0o640, nil), (0o606, 0o660, 0o606),
        ] {
            try FileManager.default.setAttributes([.posixPermissions: existing], ofItemAtPath: path)
            let report = try record(path, mode: configured)
            #expect(report.appended)
            #expect(report.widerMode == wider, "existing \(String(existing, radix: 8))")
            #expect(try permissions(path) == existing)
        }
    }
}
