#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

import RecordFormat

/// Cutting and joining recordings (`extract`, `slice`, `cat`). Outputs are new files in our
/// format, with the permission bits of their input (of all inputs together for `cat`: see
/// ``NewFile/mode(madeFrom:)``); every copied session keeps where it came from in its open record's `origin`.
public enum RecordEditing {
    public struct Summary: Sendable, Equatable {
        public var sessions: Int
        public var records: Int
        public var damages: [Damage]
    }

    /// `FILE#N`, or the session's existing origin when it was already a copy.
    static func origin(_ open: SessionOpen, path: String, session: UInt32) -> String {
        if let existing = open.origin { return existing }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return "\(name)#\(session)"
    }

    static func writer(_ output: String, madeFrom inputs: [String], header: FileHeader? = nil)
        throws(RecordFormatError) -> RecordFileWriter
    {
        var configuration = RecordWriterConfiguration()
        configuration.fileMode = try NewFile.mode(madeFrom: inputs)
        return try RecordFileWriter(path: output, configuration: configuration, createNew: true, header: header)
    }

    /// Copies session `session` of `input` into a new recording `output` as session 1.
    public static func extract(input: String, session: UInt32, output: String) throws(RecordFormatError) -> Summary {
        let source = try RecordSource(path: input)
        var out: RecordFileWriter?
        var count = 0
        while var record = try source.nextRecord() {
            guard record.session == session else { continue }
            if case .open(var open) = record.body {
                open.origin = origin(open, path: input, session: session)
                record.body = .open(open)
            }
            record.session = 1
            if out == nil { out = try writer(output, madeFrom: [input]) }
            try out!.append(record)
            count += 1
        }
        guard let out else {
            throw RecordFormatError(.invalidArgument, "no session \(session) in the recording", path: input)
        }
        try out.close()
        return Summary(sessions: 1, records: count, damages: source.damages)
    }

    /// Copies the records whose session time lies in `[from, to)` (µs since each session's start)
    /// into `output`, keeping session numbers. Every session with records in the window keeps its
    /// open record; its close record only when it falls in the window. File-level markers are left out.
    public static func slice(
        input: String, fromMicros: UInt64, toMicros: UInt64?, session: UInt32? = nil, output: String
    ) throws(RecordFormatError) -> Summary {
        let source = try RecordSource(path: input)
        let window = RecordFilter(session: session, fromMicros: fromMicros, toMicros: toMicros)
        let out = try writer(output, madeFrom: [input])
        var pendingOpens: [UInt32: Record] = [:]
        var written: Set<UInt32> = []
        var count = 0
        while let record = try source.nextRecord() {
            guard record.session != 0, session == nil || record.session == session else { continue }
            if case .open(var open) = record.body {
                open.origin = origin(open, path: input, session: record.session)
                pendingOpens[record.session] = Record(session: record.session, timeMicros: record.timeMicros, body: .open(open))
                continue
            }
            guard window.accepts(record) else { continue }
            if let open = pendingOpens.removeValue(forKey: record.session) {
                try out.append(open)
                count += 1
                written.insert(record.session)
            }
            try out.append(record)
            count += 1
        }
        try out.close()
        return Summary(sessions: written.count, records: count, damages: source.damages)
    }

    /// Joins recordings into `output` (see ``RecordMerge``): sessions numbered 1, 2, … as they first
    /// appear, a session that spans files joined into one by its identity; the files one after the
    /// other, or `byTime` merged into one timeline by wall-clock time. Gap blocks are copied (their
    /// records are still lost in the copy).
    public static func concatenate(inputs: [String], output: String, byTime: Bool = false) throws(RecordFormatError)
        -> Summary
    {
        let merge = try RecordMerge(inputs: inputs, byTime: byTime)
        let out = try writer(output, madeFrom: inputs)
        var count = 0
        while let entry = try merge.nextEntry() {
            switch entry {
            case .record(let record):
                try out.append(record)
                count += 1
            case .gap(let gap):
                try out.appendGap(gap)
            }
        }
        try out.close()
        return Summary(sessions: merge.sessions, records: count, damages: merge.damages.map(\.damage))
    }
}

/// `repair`: rewrite a recording without its torn tail and garbage, with corrupt blocks dropped
/// or kept as they are, and a fresh index.
public enum RecordRepair {
    public struct Report: Sendable, Equatable {
        public var records = 0
        public var blocksKept = 0
        public var corruptDropped = 0
        public var corruptKept = 0
        public var recordsLost = 0
        public var bytesCut: UInt64 = 0
        public var damages: [Damage] = []
    }

    /// Writes the repaired recording of `input` to `output` (which must not exist).
    public static func repair(
        input: String, output: String, keepCorrupt: Bool, progress: ProgressCallback? = nil
    ) throws(RecordFormatError) -> Report {
        let reader = try RecordFileReader(path: input)
        let out = try RecordEditing.writer(output, madeFrom: [input], header: reader.header)
        var report = Report()
        var handled = 0
        func handleDamages() throws(RecordFormatError) {
            while handled < reader.damages.count {
                let damage = reader.damages[handled]
                handled += 1
                report.damages.append(damage)
                if damage.kind == .corruptBlock && keepCorrupt {
                    var bytes = [UInt8](repeating: 0, count: Int(damage.length))
                    let fd = try SystemFile.open(input, flags: O_RDONLY)
                    defer { close(fd) }
                    guard try SystemFile.read(fd, into: &bytes, at: damage.offset, path: input) == bytes.count else {
                        throw RecordFormatError(.io, "short read of a damaged block", path: input, offset: damage.offset)
                    }
                    try out.appendVerbatimBlock(bytes)
                    report.corruptKept += 1
                } else {
                    if damage.kind == .corruptBlock { report.corruptDropped += 1 }
                    report.bytesCut += damage.length
                    report.recordsLost += damage.recordsLost ?? 0
                }
            }
        }
        while let block = try reader.nextBlock() {
            progress?(reader.bytesRead, reader.fileSize)
            try handleDamages()
            if case .gap(let gap) = block.content { try out.appendGap(gap) }  // still lost in the copy
            guard case .records(let records) = block.content else { continue }
            for record in records { try out.append(record) }
            report.records += records.count
            report.blocksKept += 1
        }
        try handleDamages()
        try out.close()
        return report
    }

    /// Repairs `path` in place: writes a repaired copy beside it, then renames it over the original.
    public static func repairInPlace(
        path: String, keepCorrupt: Bool, progress: ProgressCallback? = nil
    ) throws(RecordFormatError) -> Report {
        let temporary = path + ".repair-\(getpid())"
        unlink(temporary)
        do throws(RecordFormatError) {
            let report = try repair(input: path, output: temporary, keepCorrupt: keepCorrupt, progress: progress)
            guard rename(temporary, path) == 0 else {
                throw RecordFormatError(.io, "cannot replace the original: \(SystemFile.errnoText(errno))", path: path)
            }
            return report
        } catch {
            unlink(temporary)
            throw error
        }
    }
}
