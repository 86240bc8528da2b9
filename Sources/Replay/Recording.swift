import RecordFormat

/// A recording loaded for replay: its sessions and any damage found while reading it.
public struct Recording: Sendable {
    public var format: String
    public var sessions: [RecordedSession]
    /// Damage (truncated tail, corrupt blocks); the readable records are still there.
    public var damages: [String]

    public init(format: String, sessions: [RecordedSession], damages: [String]) {
        self.format = format
        self.sessions = sessions
        self.damages = damages
    }

    /// Reads `path`. A file that cannot be opened throws ``LoadError/io``; one whose header is
    /// unreadable or that ends in the middle of everything throws ``LoadError/corrupt``.
    public static func load(path: String) throws(LoadError) -> Recording {
        let source: RecordSource
        do {
            source = try RecordSource(path: path)
        } catch {
            switch error.code {
            case .io, .invalidArgument, .notARecording, .unsupportedVersion: throw .io("\(error)")
            default: throw .corrupt("\(error)")
            }
        }
        var records: [Record] = []
        var damages: [String] = []
        do {
            while let record = try source.nextRecord() { records.append(record) }
        } catch {
            damages.append("\(error)")
        }
        damages += source.damages.map { "\($0)" }
        return Recording(
            format: source.format.rawValue, sessions: RecordedSession.sessions(from: records), damages: damages)
    }

    public enum LoadError: Error, Sendable, CustomStringConvertible {
        case io(String)
        case corrupt(String)

        public var description: String {
            switch self {
            case .io(let text), .corrupt(let text): text
            }
        }
    }
}
