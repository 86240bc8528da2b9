import RFB
import RFBRules
import RecordFormat

/// One recording's sessions as RFB messages, per sender, for `diff --rfb`. Decoding is
/// ``RFBDumpFormatter``'s (one ``RFBSessionParser`` per session fed both directions in recorded
/// order, base64 sessions decoded, redacted frames passed over where possible), so `diff --rfb`
/// sees exactly the messages `dump --rfb` prints. Messages of the types the rules ignore are
/// counted and left out as they come (a per-message exception cannot bring one back, as in
/// wsreplay; exceptions are applied when comparing); the others are kept with where and when
/// they were sent.
struct RFBMessageLog {
    /// The messages of one sender in one session.
    struct Stream: Sendable {
        var items: [RecordDiff.RFBComparison.Item] = []
        /// Per item, the hash of what is compared of it (``RFB/RFBMessage/structure`` for the server's).
        var hashes: [Int] = []
        var ignored: [String: Int] = [:]
        /// Messages seen so far (the index of the next one).
        var count = 0
        /// What stopped the parser on this stream, if anything did.
        var problem: RFBParseProblem?
        /// Offset just past the last message.
        var end: UInt64 = 0
    }

    private var decoder = RFBDumpFormatter()
    /// Per session number: the client's stream, then the server's.
    private(set) var sessions: [UInt32: [Stream]] = [:]
    private let rules: RFBRuleSet
    /// The senders whose messages are kept (both directions are always decoded: each needs the other).
    private let senders: Set<RFBDirection>

    init(rules: RFBRuleSet, senders: Set<RFBDirection>) {
        self.rules = rules
        self.senders = senders
    }

    /// Takes record number `index` (counted over the whole file from 0).
    mutating func add(_ record: Record, index: Int) {
        for line in decoder.lines(for: record) { take(line, record: index) }
    }

    /// What sessions that never closed end inside of; call after the last record.
    mutating func finish() {
        for line in decoder.finish() { take(line, record: -1) }
    }

    /// Records of `session` that `sender` sent were lost while recording (a gap block): nothing
    /// after them can be placed, so the stream stops there with a `lost` problem.
    mutating func markLost(session: UInt32, sender: RFBDirection, _ detail: String) {
        guard senders.contains(sender) else { return }
        func stop(_ stream: inout Stream) {
            if stream.problem == nil {
                stream.problem = RFBParseProblem(direction: sender, kind: .lost, offset: stream.end, detail: detail)
            }
        }
        stop(&sessions[session, default: [Stream(), Stream()]][sender == .clientToServer ? 0 : 1])
    }

    /// The stream of `sender` in `session` (empty when it sent nothing).
    func stream(session: UInt32, sender: RFBDirection) -> Stream {
        sessions[session]?[sender == .clientToServer ? 0 : 1] ?? Stream()
    }

    private mutating func take(_ line: RFBDumpFormatter.Line, record: Int) {
        let sender = line.event.direction
        guard senders.contains(sender) else { return }
        let rules = rules
        func update(_ stream: inout Stream) {
            switch line.event {
            case .message(let parsed):
                // After a problem (a gap) the parser may go on with bytes that are not next to each other.
                guard stream.problem == nil else { return }
                stream.end = parsed.offset + parsed.length
                let index = stream.count
                stream.count += 1
                if rules.isIgnored(parsed.message) {
                    stream.ignored[parsed.message.name, default: 0] += 1
                } else {
                    let compared = sender == .serverToClient ? parsed.message.structure : parsed.message
                    stream.hashes.append(compared.hashValue)
                    stream.items.append(
                        .init(
                            message: parsed.message, index: index, offset: parsed.offset,
                            timeMicros: line.timeMicros, record: record))
                }
            case .problem(let problem):
                if stream.problem == nil { stream.problem = problem }
            }
        }
        // Changed in place: a copy taken out of the dictionary would make every append copy the stream.
        update(&sessions[line.session, default: [Stream(), Stream()]][sender == .clientToServer ? 0 : 1])
    }
}
