import Logging
import NIOConcurrencyHelpers

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A swift-log handler appending one line per message to a file (`--log-file`) or a standard stream.
public struct FileLogHandler: LogHandler {
    /// An open log destination shared by every logger writing to it.
    public final class Sink: Sendable {
        private let lock = NIOLock()
        private let fd: Int32
        private let ownsFile: Bool

        /// Opens `path` for appending.
        public init(path: String) throws {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw LogFileError(path: path, errno: errno) }
            self.fd = fd
            self.ownsFile = true
        }

        private init(fd: Int32) {
            self.fd = fd
            self.ownsFile = false
        }

        /// Standard error, the default destination.
        public static let standardError = Sink(fd: 2)
        /// Standard output.
        public static let standardOutput = Sink(fd: 1)

        /// Writes `text` as it is (no timestamp), e.g. usage errors.
        public func writeRaw(_ text: String) { write(text) }

        func write(_ text: String) {
            lock.withLock {
                var bytes = Array(text.utf8)
                var offset = 0
                while offset < bytes.count {
                    let n = bytes.withUnsafeMutableBytes {
                        Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset)
                    }
                    if n < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += n
                }
                bytes.removeAll()
            }
        }

        deinit { if ownsFile { close(fd) } }
    }

    /// The log file could not be opened.
    public struct LogFileError: Error, CustomStringConvertible {
        public var path: String
        public var errno: Int32
        public var description: String { "cannot open log file \(path): \(String(cString: strerror(errno)))" }
    }

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let sink: Sink

    public init(label: String, sink: Sink) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let extra = metadataPairs(of: event).map { " " + $0 }.joined()
        let now = Date()
        let stamp = now.formatted(.iso8601)
        sink.write("\(stamp) \(event.level) \(label):\(extra) \(event.message)\n")
    }
}
