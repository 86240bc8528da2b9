/// The lines waiting for the syslog server, in order, bounded: what ``SyslogLogHandler/Sink``
/// has not delivered yet (the server is not reachable yet, restarts, or is slower than the proxy).
///
/// At most ``capacity`` lines wait. A line that comes while the backlog is full is not kept but
/// counted, in a ``Entry/dropped(count:firstMicros:lastMicros:)`` entry standing where the lines
/// would have been, so the server is told how many lines are missing, and between which times,
/// at the place they are missing from. Nothing is dropped without that count. Pure: times are
/// passed in (microseconds since 1970), and the line type is whatever the sender keeps.
///
/// Every entry gets a sequence number when it is added, in the order of adding. Entries handed
/// back with ``putBack(_:)`` (sent, then found not delivered) take their place by that number, so
/// the backlog always delivers in the order lines were logged, however many put-backs come and in
/// whatever order their refusals were noticed.
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
    /// Waiting entries from `head` on, in increasing ``Item/sequence``.
    private var entries: [Item] = []
    /// The sequence number the next appended entry gets.
    private var nextSequence: UInt64 = 0
    /// Index of the first entry not yet taken; the array is compacted once half of it is taken.
    private var head = 0
    /// Lines (not drop counts) in the backlog.
    private(set) var lineCount = 0
    /// Lines dropped since the backlog was made, in all.
    private(set) var droppedTotal = 0

    /// An entry and its place in the order entries were added.
    struct Item {
        let sequence: UInt64
        let entry: Entry
    }

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
            add(.line(line))
            lineCount += 1
            return true
        }
        droppedTotal += 1
        if let last = entries.last, case .dropped(let count, let first, _) = last.entry, entries.count > head {
            entries[entries.count - 1] = Item(
                sequence: last.sequence, entry: .dropped(count: count + 1, firstMicros: first, lastMicros: micros))
        } else {
            add(.dropped(count: 1, firstMicros: micros, lastMicros: micros))
        }
        return false
    }

    private mutating func add(_ entry: Entry) {
        entries.append(Item(sequence: nextSequence, entry: entry))
        nextSequence += 1
    }

    /// The entry to deliver next.
    var first: Entry? { isEmpty ? nil : entries[head].entry }
    /// The entry to deliver next with its sequence number (to be given back to ``putBack(_:)``).
    var firstItem: Item? { isEmpty ? nil : entries[head] }

    /// Takes the first entry (once it was delivered).
    @discardableResult
    mutating func removeFirst() -> Entry? {
        guard !isEmpty else { return nil }
        let entry = entries[head].entry
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

    /// Puts lines that were sent but turned out not to be delivered back, each at the place its
    /// sequence number gives it (the number ``firstItem`` had when it was taken), whatever order
    /// they come in; a line whose number is already waiting is not added twice. They are older
    /// than anything appended since, so they go in even past ``capacity`` (whoever calls this
    /// bounds how many it keeps for resending).
    mutating func putBack(_ lines: [(sequence: UInt64, line: Line)]) {
        guard !lines.isEmpty else { return }
        let returning = lines.sorted { $0.sequence < $1.sequence }
        var merged: [Item] = []
        merged.reserveCapacity(count + returning.count)
        var waiting = head
        for (sequence, line) in returning {
            while waiting < entries.count, entries[waiting].sequence < sequence {
                merged.append(entries[waiting])
                waiting += 1
            }
            let present =
                (waiting < entries.count && entries[waiting].sequence == sequence)
                || merged.last?.sequence == sequence
            guard !present else { continue }
            merged.append(Item(sequence: sequence, entry: .line(line)))
            lineCount += 1
        }
        merged.append(contentsOf: entries[waiting...])
        entries = merged
        head = 0
    }
}
