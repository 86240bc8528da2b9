/// The lines waiting for the syslog server, in order, bounded: what ``SyslogLogHandler/Sink``
/// has not delivered yet (the server is not reachable yet, restarts, or is slower than the proxy).
///
/// At most ``capacity`` lines wait. A line that comes while the backlog is full is not kept but
/// counted, in a ``Entry/dropped(count:firstMicros:lastMicros:)`` entry standing where the lines
/// would have been, so the server is told how many lines are missing, and between which times,
/// at the place they are missing from. Nothing is dropped without that count. Pure: times are
/// passed in (microseconds since 1970), and the line type is whatever the sender keeps.
struct SyslogBacklog<Line>: Sendable where Line: Sendable {
    /// One entry, delivered in order.
    enum Entry {
        case line(Line)
        /// `count` lines were dropped because the backlog was full; the first was logged at
        /// `firstMicros`, the last at `lastMicros`.
        case dropped(count: Int, firstMicros: Int64, lastMicros: Int64)
    }

    /// The most lines kept waiting (drop counts do not count).
    let capacity: Int
    private var entries: [Entry] = []
    /// Index of the first entry not yet taken; the array is compacted once half of it is taken.
    private var head = 0
    /// Lines (not drop counts) in the backlog.
    private(set) var lineCount = 0
    /// Lines dropped since the backlog was made, in all.
    private(set) var droppedTotal = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a syslog backlog holds at least one line")
        self.capacity = capacity
    }

    var isEmpty: Bool { head == entries.count }
    /// Entries waiting, drop counts included.
    var count: Int { entries.count - head }

    /// Adds a line logged at `micros`; returns false if it was dropped (and counted) because
    /// ``capacity`` lines are waiting.
    @discardableResult
    mutating func append(_ line: Line, at micros: Int64) -> Bool {
        guard lineCount >= capacity else {
            entries.append(.line(line))
            lineCount += 1
            return true
        }
        droppedTotal += 1
        if case .dropped(let count, let first, _)? = entries.last, entries.count > head {
            entries[entries.count - 1] = .dropped(count: count + 1, firstMicros: first, lastMicros: micros)
        } else {
            entries.append(.dropped(count: 1, firstMicros: micros, lastMicros: micros))
        }
        return false
    }

    /// The entry to deliver next.
    var first: Entry? { isEmpty ? nil : entries[head] }

    /// Takes the first entry (once it was delivered).
    @discardableResult
    mutating func removeFirst() -> Entry? {
        guard !isEmpty else { return nil }
        let entry = entries[head]
        head += 1
        if case .line = entry { lineCount -= 1 }
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return entry
    }

    /// Puts lines that were sent but turned out not to be delivered back in front, in the order
    /// given. They are older than anything waiting, so they go first even past ``capacity``
    /// (whoever calls this bounds how many it keeps for resending).
    mutating func putBack(_ lines: [Line]) {
        guard !lines.isEmpty else { return }
        entries.replaceSubrange(head..<head, with: lines.map { Entry.line($0) })
        lineCount += lines.count
    }
}
