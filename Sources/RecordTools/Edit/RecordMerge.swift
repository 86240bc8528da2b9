import RecordFormat

/// Several recordings read as one (`cat`, `stats` of several files): sessions numbered 1, 2, … in
/// the order they first appear, and a session that spans files — its recording was rotated while it
/// ran, so every file it is in has an open record with the same ``SessionIdentity`` — joined into
/// one: its first open record is kept, the opens that continue it in later files are left out.
///
/// In input order, the files follow each other as given. By time, they are merged into one
/// timeline by wall-clock time (§3.4 of the format: a session's start plus the record's time), as
/// Wireshark's mergecap merges captures: the next entry is always the earliest of the files' next
/// entries (the first file's on a tie), and each file's own order is kept, so a session's records
/// never change order. Gap blocks come along, their sessions renumbered.
public final class RecordMerge {
    public let inputs: [String]
    public let byTime: Bool
    private var sources: [RecordSource]
    /// The next entry of each source (by time), and its wall-clock time.
    private var heads: [(entry: RecordEntry, wall: Int64)?]
    private var nextInput = 0
    /// Each source's sessions: their start and their number in the output.
    private var starts: [[UInt32: Int64]]
    private var numbers: [[UInt32: UInt32]]
    /// Output numbers of the identities seen so far.
    private var identities: [SessionIdentity: UInt32] = [:]
    private var next: UInt32 = 1

    /// Opens every input (an unreadable one is an error before anything is read).
    public init(inputs: [String], byTime: Bool) throws(RecordFormatError) {
        self.inputs = inputs
        self.byTime = byTime
        var sources: [RecordSource] = []
        for input in inputs { sources.append(try RecordSource(path: input)) }
        self.sources = sources
        heads = Array(repeating: nil, count: inputs.count)
        starts = Array(repeating: [:], count: inputs.count)
        numbers = Array(repeating: [:], count: inputs.count)
    }

    /// Sessions numbered so far (all of them once ``nextEntry()`` returned nil).
    public var sessions: Int { Int(next - 1) }

    /// Damage found in each input so far.
    public var damages: [(path: String, damage: Damage)] {
        zip(inputs, sources).flatMap { path, source in source.damages.map { (path, $0) } }
    }

    /// The input of the entry ``nextEntry()`` returned last, and where it is in it.
    public private(set) var lastInput = 0

    /// The next entry with its session renumbered, or nil at the end of every input. A record
    /// copied from a file records where it came from (`FILE#N`) in its open record's origin.
    public func nextEntry() throws(RecordFormatError) -> RecordEntry? {
        while true {
            guard let (input, entry) = try take() else { return nil }
            lastInput = input
            if let kept = try renumber(entry, input: input) { return kept }
        }
    }

    /// The next entry and its input, in input order or by time.
    private func take() throws(RecordFormatError) -> (Int, RecordEntry)? {
        guard byTime else {
            while nextInput < sources.count {
                if let entry = try sources[nextInput].nextEntry() { return (nextInput, entry) }
                nextInput += 1
            }
            return nil
        }
        var best: Int?
        for input in sources.indices {
            if heads[input] == nil, let entry = try sources[input].nextEntry() {
                heads[input] = (entry, wall(of: entry, input: input))
            }
            if let head = heads[input], best.map({ head.wall < heads[$0]!.wall }) ?? true { best = input }
        }
        guard let best, let head = heads[best] else { return nil }
        heads[best] = nil
        return (best, head.entry)
    }

    /// An entry's wall-clock time; an open record also notes its session's start.
    private func wall(of entry: RecordEntry, input: Int) -> Int64 {
        switch entry {
        case .gap(let gap): return gap.firstWallMicros
        case .record(let record):
            if record.session == 0 { return Int64(clamping: record.timeMicros) }
            if case .open(let open) = record.body { starts[input][record.session] = open.startWallMicros }
            return RecordTime.saturatingSum(starts[input][record.session] ?? 0, record.timeMicros)
        }
    }

    private func renumber(_ entry: RecordEntry, input: Int) throws(RecordFormatError) -> RecordEntry? {
        switch entry {
        case .gap(var gap):
            gap.sessions = gap.sessions.map { loss in
                var loss = loss
                if loss.session != 0 { loss.session = number(input: input, session: loss.session, identity: nil).number }
                return loss
            }
            gap.sessions.sort { $0.session < $1.session }
            return .gap(gap)
        case .record(var record):
            guard record.session != 0 else { return entry }
            let old = record.session
            if case .open(var open) = record.body {
                let (number, continued) = number(input: input, session: old, identity: open.identity)
                record.session = number
                if continued { return nil }  // the session began in an earlier file
                open.origin = RecordEditing.origin(open, path: inputs[input], session: old)
                record.body = .open(open)
                return .record(record)
            }
            record.session = number(input: input, session: old, identity: nil).number
            return .record(record)
        }
    }

    /// The output number of `session` of `input`, given a number on first sight (or, with an
    /// identity seen before, the number of that session: `continued`).
    private func number(input: Int, session: UInt32, identity: SessionIdentity?) -> (number: UInt32, continued: Bool) {
        if let identity, let known = identities[identity] {
            numbers[input][session] = known
            return (known, true)
        }
        if let known = numbers[input][session] { return (known, false) }
        let assigned = next
        next += 1
        numbers[input][session] = assigned
        if let identity { identities[identity] = assigned }
        return (assigned, false)
    }
}
