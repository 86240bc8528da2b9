/// An error about a recording: what went wrong, in which file, at which byte offset.
///
/// Codes are an open set of static members, so new ones can be added without breaking callers.
public struct RecordFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case notARecording, unsupportedVersion, corruptHeader, truncated, corruptBlock, io, invalidArgument
            case legacySyntax
            case timeOutOfRange
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file does not start with the recording magic.
        public static let notARecording = Code(.notARecording)
        /// The file's major version is not one this reader knows.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// The file header is damaged.
        public static let corruptHeader = Code(.corruptHeader)
        /// The file ends in the middle of a block.
        public static let truncated = Code(.truncated)
        /// A block failed its checks.
        public static let corruptBlock = Code(.corruptBlock)
        /// A system call failed.
        public static let io = Code(.io)
        /// A caller passed something unusable.
        public static let invalidArgument = Code(.invalidArgument)
        /// A legacy (Python websockify) recording could not be parsed.
        public static let legacySyntax = Code(.legacySyntax)
        /// A record's time cannot be placed on the clock (docs/record-format.md §4.3).
        public static let timeOutOfRange = Code(.timeOutOfRange)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The file concerned, when known.
    public var path: String?
    /// The byte offset in that file, when known.
    public var offset: UInt64?
    /// What is wrong, for a person.
    public var message: String

    public init(_ code: Code, _ message: String, path: String? = nil, offset: UInt64? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
    }

    public var description: String {
        var text = path.map { "\($0): " } ?? ""
        if let offset { text += "at byte \(offset): " }
        return text + message
    }

    /// The same error, naming `path` when it did not yet.
    func inFile(_ path: String?) -> RecordFormatError {
        var copy = self
        if copy.path == nil { copy.path = path }
        return copy
    }
}
