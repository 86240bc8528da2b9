import RecordFormat

/// Conversions between our format and the legacy Python websockify recording.
public enum RecordConverter {
    public struct Result: Sendable {
        public var inputFormat: RecordSource.Format
        public var records: Int
        public var sessions: Int
        public var damages: [Damage]
    }

    /// Writes `input` (either format) as a new recording in our format at `output`, which gets the
    /// input's permission bits (the configuration's `fileMode` is not used).
    public static func toNative(
        input: String, output: String, configuration: RecordWriterConfiguration = .init()
    ) throws(RecordFormatError) -> Result {
        let source = try RecordSource(path: input)
        var configuration = configuration
        configuration.fileMode = try NewFile.mode(madeFrom: [input])
        let writer = try RecordFileWriter(path: output, configuration: configuration, createNew: true)
        var count = 0
        var sessions: Set<UInt32> = []
        while let record = try source.nextRecord() {
            try writer.append(record)
            count += 1
            if record.session != 0 { sessions.insert(record.session) }
        }
        try writer.close()
        return Result(inputFormat: source.format, records: count, sessions: sessions.count, damages: source.damages)
    }

    /// The legacy file text for one session of `input` (either format). With several sessions,
    /// `session` must name one.
    public static func toLegacy(input: String, session: UInt32?) throws(RecordFormatError) -> (bytes: [UInt8], result: Result) {
        let source = try RecordSource(path: input)
        let records = try source.readAll()
        var sessions: [UInt32] = []
        var seen: Set<UInt32> = []
        for record in records where record.session != 0 && seen.insert(record.session).inserted {
            sessions.append(record.session)
        }
        let chosen: UInt32
        if let session {
            guard seen.contains(session) else {
                throw RecordFormatError(.invalidArgument, "no session \(session) in the recording", path: input)
            }
            chosen = session
        } else {
            guard sessions.count == 1 else {
                throw RecordFormatError(
                    .invalidArgument,
                    sessions.isEmpty
                        ? "the recording holds no session"
                        : "the recording holds \(sessions.count) sessions (\(sessions.map(String.init).joined(separator: ", "))); "
                            + "a legacy file holds one: pick it with --session N", path: input)
            }
            chosen = sessions[0]
        }
        let entries = LegacyRecording.entries(from: records, session: chosen)
        return (
            LegacyRecording.render(entries),
            Result(inputFormat: source.format, records: entries.count, sessions: 1, damages: source.damages)
        )
    }
}
