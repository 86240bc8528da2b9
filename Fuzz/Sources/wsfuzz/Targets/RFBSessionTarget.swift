import RFB

/// `RFBSessionParser` (RFB/Parsing): both sides of an RFB session, client and server messages.
///
/// Invariants: the events are the same however each read is cut; each side's messages follow each
/// other without gap or overlap from offset 0, within the bytes fed; nothing is reported for a side
/// after its problem; a parser resumed from a `resumePoint` reports what the original reports.
enum RFBSessionTarget {
    static let target = FuzzTarget(
        name: "rfb-session",
        summary: "RFBSessionParser (both sides): cut-invariant, contiguous offsets, stops after a problem, resumable"
    ) { run($0) }

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let cutSeed = input.byte()
        let resumeAt = Int(input.byte())
        let schedule = RFBSchedule(&input)
        var whole = RFBSessionParser()
        var events: [RFBParseEvent] = []
        var resumed: RFBSessionParser?
        var resumedEvents: [RFBParseEvent] = []
        var resumedFrom = 0
        var fed: [UInt64] = [0, 0]
        for (index, feed) in schedule.feeds.enumerated() {
            let new = whole.feed(feed.direction, feed.bytes)
            events += new
            fed[feed.direction == .clientToServer ? 0 : 1] += UInt64(feed.bytes.count)
            if resumed != nil { resumedEvents += resumed!.feed(feed.direction, feed.bytes) }
            if index + 1 == resumeAt % (schedule.feeds.count + 1), let point = whole.resumePoint {
                resumed = RFBSessionParser(resumingAt: point)
                resumedFrom = events.count
            }
        }
        let eventsBeforeEnd = events
        events += whole.finish()
        if var resumed {
            resumedEvents += resumed.finish()
            FuzzCheck.require(
                Array(events[resumedFrom...]) == resumedEvents,
                "a resumed parser reports differently: \(resumedEvents.prefix(3)) vs \(events[resumedFrom...].prefix(3))")
        }
        var cut = RFBSessionParser()
        var cutEvents: [RFBParseEvent] = []
        for feed in schedule.recut(cutSeed) { cutEvents += cut.feed(feed.direction, feed.bytes) }
        FuzzCheck.require(cutEvents == eventsBeforeEnd, "events differ when reads are cut")
        for direction in RFBDirection.allCases {
            var next: UInt64 = 0
            var stopped = false
            for event in events where event.direction == direction {
                FuzzCheck.require(!stopped || event.parsedMessage == nil, "a \(direction.senderName) message after a problem")
                switch event {
                case .message(let parsed):
                    FuzzCheck.require(parsed.offset == next, "\(direction.senderName) message at \(parsed.offset), expected \(next)")
                    next = parsed.offset + parsed.length
                    FuzzCheck.require(next <= fed[direction == .clientToServer ? 0 : 1], "a message past the bytes fed")
                case .problem:
                    stopped = true
                }
            }
        }
    }
}
