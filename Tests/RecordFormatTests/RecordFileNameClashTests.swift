import Foundation
import RecordTestSupport
import Testing

@testable import RecordFormat

/// A name another writer takes between the check and the creation (review #14): the next name is
/// tried, and nothing this process did not create is removed.
@Suite("Recording files: a name taken at the last moment")
struct RecordFileNameClashTests {
    @Test("a name that exists only for O_EXCL (a dangling symlink) is skipped and left alone")
    func takenBetweenCheckAndCreate() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let taken = dir.appendingPathComponent("desk-1.rec").path
        // access(F_OK) follows the link and finds nothing; open(O_CREAT|O_EXCL) finds the name taken:
        // the same as another writer creating it in between.
        try FileManager.default.createSymbolicLink(atPath: taken, withDestinationPath: "nowhere")
        var configuration = RecordWriterConfiguration()
        configuration.syncOnClose = false
        let writer = try RecordFileSet.createFirstFree(configuration: configuration, clock: ManualClock()) {
            dir.appendingPathComponent("desk-\($0).rec").path
        }
        #expect(writer.path.hasSuffix("desk-2.rec"))
        try writer.close()
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: taken)) == "nowhere")
    }

    @Test("an exclusive create of a taken name says so and removes nothing")
    func exclusiveCreate() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Another writer's file, created and not yet given its header.
        let other = dir.appendingPathComponent("other.rec").path
        #expect(FileManager.default.createFile(atPath: other, contents: Data()))
        #expect {
            try RecordFileWriter(path: other, createNew: true)
        } throws: { error in
            (error as? RecordFormatError)?.message == SystemFile.alreadyExists
        }
        #expect(FileManager.default.fileExists(atPath: other))
    }
}
