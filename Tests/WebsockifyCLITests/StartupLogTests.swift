import Logging
import NIOConcurrencyHelpers
import Testing

@testable import WebsockifyCLI

@Suite("Lines logged while the configuration is built, before logging is set up")
struct StartupLogTests {
    /// Collects "label level message" lines.
    struct Collector: LogHandler {
        let label: String
        let lines: NIOLockedValueBox<[String]>
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            lines.withLockedValue { $0.append("\(label) \(event.level) \(event.message)") }
        }
    }

    @Test("kept until start(), then sent in order with every later line; the real logger's level applies")
    func keptThenSent() {
        let lines = NIOLockedValueBox<[String]>([])
        let log = StartupLog()
        let tokens = log.logger(label: "websockify")
        tokens.info("loaded 2 token(s) from /t")
        tokens.debug("below the level")
        tokens.warning("token file /t:3: bad line; line skipped")
        #expect(lines.withLockedValue { $0 }.isEmpty, "nothing is sent before start()")
        log.start { label in Logger(label: label) { Collector(label: $0, lines: lines) } }
        tokens.info("reloaded 1 token(s) from /t")
        #expect(
            lines.withLockedValue { $0 } == [
                "websockify info loaded 2 token(s) from /t", "websockify warning token file /t:3: bad line; line skipped",
                "websockify info reloaded 1 token(s) from /t",
            ])
    }
}
