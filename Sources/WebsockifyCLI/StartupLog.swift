import Logging
import NIOConcurrencyHelpers

/// Loggers for what is logged before logging is set up: the configuration is built first (its usage
/// errors come before any file is opened), and a token file logs "loaded N token(s)" as it is read.
///
/// Until ``start()`` the lines are kept; ``start()`` sends them, and every later one, to loggers of
/// the bootstrapped `LoggingSystem`. A run that ends before ``start()`` (a usage error) drops them.
final class StartupLog: Sendable {
    private enum State {
        case holding([(label: String, event: LogEvent)])
        case forwarding(made: [String: Logger], making: @Sendable (String) -> Logger)
    }

    private let state = NIOLockedValueBox(State.holding([]))

    /// A logger that keeps its lines until ``start()``.
    func logger(label: String) -> Logger {
        Logger(label: label) { label in Handler(label: label, log: self) }
    }

    /// Sends the lines kept so far to loggers of the logging system (bootstrapped by now), or made by
    /// `making`, then every later line.
    func start(making: @escaping @Sendable (String) -> Logger = { Logger(label: $0) }) {
        let kept: [(label: String, event: LogEvent)] = state.withLockedValue { state in
            guard case .holding(let kept) = state else { return [] }
            state = .forwarding(made: [:], making: making)
            return kept
        }
        for (label, event) in kept { forward(event, label: label) }
    }

    fileprivate func log(_ event: LogEvent, label: String) {
        let held: Bool = state.withLockedValue { state in
            guard case .holding(var kept) = state else { return false }
            kept.append((label, event))
            state = .holding(kept)
            return true
        }
        if !held { forward(event, label: label) }
    }

    private func forward(_ event: LogEvent, label: String) {
        let logger = state.withLockedValue { state -> Logger? in
            guard case .forwarding(var made, let making) = state else { return nil }
            if let known = made[label] { return known }
            let logger = making(label)
            made[label] = logger
            state = .forwarding(made: made, making: making)
            return logger
        }
        guard let logger else { return }
        logger.log(
            level: event.level, event.message, metadata: event.metadata, source: event.source, file: event.file,
            function: event.function, line: event.line)
    }

    private struct Handler: LogHandler {
        let label: String
        let log: StartupLog
        // Every level is kept: the bootstrapped logger applies its own level when the line is sent.
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var event = event
            if !metadata.isEmpty { event.metadata = metadata.merging(event.metadata ?? [:]) { $1 } }
            log.log(event, label: label)
        }
    }
}
