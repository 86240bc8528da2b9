import RFB

/// `RFBClientStreamParser` (RFB): the client's messages, following only as much of the server as it
/// must (wsreplay's client checks use it).
///
/// Invariants: the same messages however reads are cut; messages follow each other from offset 0
/// within the bytes fed; while it follows the session, the messages it finds are those
/// `RFBSessionParser` finds in the client's stream (same offsets and lengths).
enum RFBClientStreamTarget {
    static let target = FuzzTarget(
        name: "rfb-client-stream",
        summary: "RFBClientStreamParser: cut-invariant, contiguous, agrees with RFBSessionParser on the client's messages"
    ) { run($0) }

    static func parse(_ feeds: [(direction: RFBDirection, bytes: ArraySlice<UInt8>)]) -> [RFBClientStreamParser.Parsed] {
        var parser = RFBClientStreamParser()
        var out: [RFBClientStreamParser.Parsed] = []
        for feed in feeds {
            out += feed.direction == .clientToServer ? parser.feedClient(feed.bytes) : parser.feedServer(feed.bytes)
        }
        return out
    }

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let cutSeed = input.byte()
        _ = input.byte()  // the rfb-* targets share one input layout (RFBSeeds): a second parameter byte
        let schedule = RFBSchedule(&input)
        let messages = parse(schedule.feeds.map { ($0.direction, $0.bytes[...]) })
        FuzzCheck.require(messages == parse(schedule.recut(cutSeed)), "messages differ when reads are cut")
        let clientBytes = schedule.feeds.filter { $0.direction == .clientToServer }.reduce(0) { $0 + $1.bytes.count }
        var next: UInt64 = 0
        for parsed in messages {
            FuzzCheck.require(parsed.offset == next, "client message at \(parsed.offset), expected \(next)")
            FuzzCheck.require(parsed.length > 0, "an empty client message")
            next += UInt64(parsed.length)
        }
        FuzzCheck.require(next <= UInt64(clientBytes), "messages past the client's \(clientBytes) bytes")
        // The session parser's view of the same client stream, up to where either stops following.
        var session = RFBSessionParser()
        var found: [(offset: UInt64, length: UInt64)] = []
        var stopped = false
        for feed in schedule.feeds where !stopped {
            for event in session.feed(feed.direction, feed.bytes) where event.direction == .clientToServer && !stopped {
                switch event {
                case .message(let parsed): found.append((parsed.offset, parsed.length))
                case .problem: stopped = true
                }
            }
        }
        for (mine, theirs) in zip(messages, found) {
            FuzzCheck.require(
                mine.offset == theirs.offset && UInt64(mine.length) == theirs.length,
                "client message at \(mine.offset)+\(mine.length), the session parser says \(theirs.offset)+\(theirs.length)")
        }
    }
}
