import Foundation
import RecordTestSupport
import Testing

@testable import RecordFormat

@Suite("Recordings are private (issue 12 §7)")
struct FileModeTests {
    @Test("a new recording is 0600, a configured mode is set exactly, an existing file keeps its mode")
    func writerModes() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("new.rec").path
        try writeRecording(sampleRecords(), to: path)
        #expect(try permissions(path) == 0o600)

        var configuration = RecordWriterConfiguration()
        configuration.fileMode = 0o640
        let group = dir.appendingPathComponent("group.rec").path
        try writeRecording(sampleRecords(), to: group, configuration: configuration)
        #expect(try permissions(group) == 0o640)

        // Appending a run changes nothing, whether the configured mode is narrower or wider.
        for (existing, configured) in [(0o644, UInt32(0o600)), (0o600, UInt32(0o666)), (0o604, UInt32(0o640))] {
            try FileManager.default.setAttributes([.posixPermissions: existing], ofItemAtPath: path)
            configuration.fileMode = configured
            let writer = try RecordFileWriter(path: path, configuration: configuration, clock: ManualClock())
            try writer.append(sampleRecords()[0])
            try writer.close()
            #expect(try permissions(path) == existing)
        }
    }
}
