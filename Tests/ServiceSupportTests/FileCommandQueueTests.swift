import Foundation
import Logging
import NIOConcurrencyHelpers
import TestSupport
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

    /// Waits (up to 20 s, polling) until `condition` holds.
    static func wait(_ what: String, until condition: () -> Bool) async throws {
        for _ in 0..<2000 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        try #require(condition(), "timed out waiting for \(what)")
    }

    static func started(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasPrefix("started.") }.sorted()
    }

    @Test("at most `limit` run at once, every file gets its run, finish() waits for them all")
    func bounded() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (logger, _) = Self.logger()
        // Each command says it started, then blocks until the test creates `go`: no timing involved.
        let go = dir.appendingPathComponent("go").path
        let queue = FileCommandQueue(
            command: "touch \"\(dir.path)/started.$1\"; while [ ! -e \(go) ]; do sleep 0.01; done", limit: 2,
            logger: logger)
        for index in 0..<5 { queue.submit("file\(index)") }
        try await Self.wait("two commands to start") { Self.started(dir).count >= 2 }
        #expect(queue.running == 2)
        // A third would start now if the limit did not hold (give it the time to).
        try await Task.sleep(for: .milliseconds(200))
        #expect(Self.started(dir) == ["started.file0", "started.file1"], "in order, two at once")
        #expect(queue.running == 2)
        #expect(FileManager.default.createFile(atPath: go, contents: Data()))
        await queue.finish()
        #expect(Self.started(dir) == (0..<5).map { "started.file\($0)" })
        #expect(queue.running == 0)
    }

    @Test("at shutdown a hung command is stopped after the grace (SIGTERM, then SIGKILL) and files still waiting are given up, each logged")
    func hungCommandsAreCut() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (logger, lines) = Self.logger()
        let queue = FileCommandQueue(
            command: "touch \"\(dir.path)/started.$1\"; exec sleep 1000", limit: 1, logger: logger)
        queue.submit("hung")
        queue.submit("queued")
        try await Self.wait("the first command to start") { Self.started(dir) == ["started.hung"] }
        let began = ContinuousClock.now
        await queue.finish(grace: 0.2, killGrace: 0.5)
        #expect(ContinuousClock.now - began < .seconds(10), "not the 1000 s the command would take")
        let log = lines.withLockedValue { $0 }
        #expect(log.contains("record-on-close: shutting down; the command for hung still runs after 0.2 s: SIGTERM"))
        #expect(log.contains("record-on-close: shutting down; no command was run for queued (the file is kept)"))
        #expect(log.contains { $0.contains("the command for hung failed: killed by signal 15") })
        #expect(Self.started(dir) == ["started.hung"])
        #expect(queue.running == 0)

        // One that ignores SIGTERM gets SIGKILL.
        let stubborn = FileCommandQueue(
            command: "trap '' TERM; touch \"\(dir.path)/started.$1\"; while :; do sleep 0.05; done", limit: 1,
            logger: logger)
        stubborn.submit("stubborn")
        try await Self.wait("the stubborn command to start") { Self.started(dir).contains("started.stubborn") }
        await stubborn.finish(grace: 0.25, killGrace: 0.25)
        let after = lines.withLockedValue { $0 }
        #expect(after.contains("record-on-close: shutting down; the command for stubborn still runs after 0.5 s: SIGKILL"))
        #expect(after.contains { $0.contains("the command for stubborn failed: killed by signal 9") })
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
