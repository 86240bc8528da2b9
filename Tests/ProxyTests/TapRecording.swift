import Foundation
import RecordFormat

@testable import Proxy

/// A recording file for one test: taps that write into it, and the frames it holds once closed.
final class TapRecording {
    let path: String
    let recording: SessionRecording

    init(redaction: RecordingRedaction = []) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("taprec-\(UUID().uuidString).rec").path
        recording = try SessionRecording(file: path, redaction: redaction) { _ in }
    }

    /// A tap recording one session into this file.
    func makeTap() -> RecordingTap { RecordingTap(recorder: recording.recorder, redaction: recording.redaction) }

    /// Closes the file (the recorder drains its queue first), reads every frame record back in
    /// order, and removes the file.
    func closeAndReadFrames() throws -> [Frame] {
        recording.recorder.close()
        defer { unlink(path) }
        return try RecordSource(path: path).readAll().compactMap { record in
            if case .frame(let frame) = record.body { return frame }
            return nil
        }
    }
}
