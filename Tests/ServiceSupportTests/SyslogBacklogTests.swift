import Testing

@testable import ServiceSupport

@Suite("Syslog backlog: lines waiting for the server, bounded, drops counted")
struct SyslogBacklogTests {
    typealias Backlog = SyslogBacklog<String>

    /// The entries as text, in delivery order (taking them out).
    func drain(_ backlog: inout Backlog) -> [String] {
        var out: [String] = []
        while let entry = backlog.removeFirst() {
            switch entry {
            case .line(let line): out.append(line)
            case .dropped(let count, let first, let last): out.append("dropped \(count) \(first)-\(last)")
            }
        }
        return out
    }

    @Test("lines come out in order; an empty backlog has nothing")
    func order() {
        var backlog = Backlog(capacity: 10)
        let nothing = backlog.removeFirst()
        #expect(backlog.isEmpty && backlog.first == nil && nothing == nil)
        for n in 0..<5 {
            let kept = backlog.append("l\(n)", at: Int64(n))
            #expect(kept)
        }
        #expect(backlog.lineCount == 5 && backlog.count == 5)
        #expect(drain(&backlog) == ["l0", "l1", "l2", "l3", "l4"])
        #expect(backlog.isEmpty && backlog.lineCount == 0)
    }

    @Test("past capacity lines are dropped and counted where they are missing, never silently")
    func overflow() {
        var backlog = Backlog(capacity: 3)
        for n in 0..<3 { backlog.append("l\(n)", at: Int64(n)) }
        let kept = [backlog.append("x", at: 100), backlog.append("y", at: 105), backlog.append("z", at: 109)]
        #expect(kept == [false, false, false])
        #expect(backlog.droppedTotal == 3 && backlog.lineCount == 3 && backlog.count == 4)
        // One delivered: room for one line, which comes after the count of those that missed it.
        let taken = backlog.removeFirst()
        let keptAgain = [backlog.append("l3", at: 110), backlog.append("w", at: 111)]
        #expect(taken != nil)
        #expect(keptAgain == [true, false], "full again")
        #expect(drain(&backlog) == ["l1", "l2", "dropped 3 100-109", "l3", "dropped 1 111-111"])
        #expect(backlog.droppedTotal == 4)
    }

    @Test("a capacity of one still keeps the order of lines and counts")
    func capacityOne() {
        var backlog = Backlog(capacity: 1)
        backlog.append("a", at: 1)
        backlog.append("b", at: 2)
        #expect(drain(&backlog) == ["a", "dropped 1 2-2"])
        backlog.append("c", at: 3)
        #expect(drain(&backlog) == ["c"])
    }

    @Test("lines found undelivered go back in front, in their order, even past capacity")
    func putBack() throws {
        var backlog = Backlog(capacity: 2)
        var sent: [(sequence: UInt64, line: String)] = []
        for line in ["a", "b"] {
            backlog.append(line, at: 1)
            let item = try #require(backlog.firstItem)
            backlog.removeFirst()
            sent.append((item.sequence, line))
        }
        backlog.append("c", at: 3)
        backlog.append("d", at: 4)
        backlog.putBack(sent)
        #expect(backlog.lineCount == 4 && backlog.first.map { if case .line("a") = $0 { true } else { false } } == true)
        let keptE = backlog.append("e", at: 5)
        #expect(!keptE)
        backlog.putBack([])
        #expect(drain(&backlog) == ["a", "b", "c", "d", "dropped 1 5-5"])
    }

    @Test("taking and adding many lines keeps every line once, in order (the array is compacted)")
    func manyLines() {
        var backlog = Backlog(capacity: 100)
        var expected: [String] = []
        var out: [String] = []
        var next = 0
        for round in 0..<2_000 {
            for _ in 0..<(round % 7) {
                backlog.append("\(next)", at: Int64(next))
                expected.append("\(next)")
                next += 1
            }
            for _ in 0..<(round % 8) {
                if case .line(let line)? = backlog.removeFirst() { out.append(line) }
            }
            #expect(backlog.lineCount <= 100)
        }
        out += drain(&backlog)
        #expect(backlog.droppedTotal == 0)
        #expect(out == expected)
    }
}
