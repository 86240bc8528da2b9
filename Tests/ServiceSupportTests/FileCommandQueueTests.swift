import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing

@testable import ServiceSupport

/// `--record-on-close CMD` (issue 17 §3): a command per closed file, at most N at once, failures
/// logged with their status.
@Suite("Commands for closed files")
struct FileCommandQueueTests {
    struct Collector: LogHandler {
        let lines: NIOLockedValueBox<[String]>
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { lines.withLockedValue { $0.append("\(event.message)") } }
    }

    static func logger() -> (Logger, NIOLockedValueBox<[String]>) {
        let lines = NIOLockedValueBox<[String]>([])
        return (Logger(label: "test") { _ in Collector(lines: lines) }, lines)
    }

    @Test("at most `limit` run at once, every file gets its run, finish() waits for them all")
    func bounded() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fcq-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("journal").path
        let (logger, _) = Self.logger()
        let queue = FileCommandQueue(
            command: "echo \"+ $1\" >> \(journal); sleep 0.3; echo \"- $1\" >> \(journal)", limit: 2, logger: logger)
        for index in 0..<5 { queue.submit("file\(index)") }
        await queue.finish()
        let lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 10)
        #expect(Set(lines.filter { $0.hasPrefix("+") }.map { $0.dropFirst(2) }) == Set((0..<5).map { "file\($0)" }))
        var running = 0
        var peak = 0
        for line in lines {
            running += line.hasPrefix("+") ? 1 : -1
            peak = max(peak, running)
        }
        #expect(peak == 2, "\(lines)")
        #expect(queue.running == 0)
    }

    @Test("the path is $1 and in the environment with what prepare adds; a failure is logged with its status")
    func statusAndFailures() async throws {
        let (logger, lines) = Self.logger()
        let queue = FileCommandQueue(
            command: "test \"$1\" = \"$WEBSOCKIFY_RECORD_FILE\" && test \"$WEBSOCKIFY_RECORD_STATUS\" = \"$1\" || exit 3",
            limit: 1, logger: logger)
        queue.submit("ok") { path in ["WEBSOCKIFY_RECORD_STATUS": path] }
        queue.submit("bad") { _ in ["WEBSOCKIFY_RECORD_STATUS": "other"] }
        await queue.finish()
        let log = lines.withLockedValue { $0 }
        #expect(log.contains { $0.hasPrefix("record-on-close: done for ok in ") })
        #expect(log.contains { $0.hasPrefix("record-on-close: the command for bad failed: exit status 3 after ") && $0.hasSuffix("the file is kept") })
        let killed = FileCommandQueue(command: "kill -9 $$", limit: 1, logger: logger)
        killed.submit("gone")
        await killed.finish()
        #expect(lines.withLockedValue { $0 }.contains { $0.contains("for gone failed: killed by signal 9") })
    }
}
