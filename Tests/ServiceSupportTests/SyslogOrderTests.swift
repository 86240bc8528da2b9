import Foundation
import Glibc
import Testing
import TestSupport

@testable import ServiceSupport

/// Lines that a UDP syslog server refused are sent again in the order they were logged, and a
/// refusal covers every line sent after the refused one (their own refusals may never come).
@Suite("Syslog order: refused lines are resent, all of them, in the order logged")
struct SyslogOrderTests {
    typealias Backlog = SyslogBacklog<String>

    /// Appends `lines`, then takes them out as a sender does, keeping their sequence numbers.
    func send(_ lines: [String], through backlog: inout Backlog) throws -> [(sequence: UInt64, line: String)] {
        var sent: [(sequence: UInt64, line: String)] = []
        for line in lines { backlog.append(line, at: 0) }
        for _ in lines {
            let item = try #require(backlog.firstItem)
            guard case .line(let line) = item.entry else { throw Failure.notALine }
            backlog.removeFirst()
            sent.append((item.sequence, line))
        }
        return sent
    }

    enum Failure: Error { case notALine }

    func drain(_ backlog: inout Backlog) -> [String] {
        var out: [String] = []
        while let entry = backlog.removeFirst() {
            if case .line(let line) = entry { out.append(line) } else { out.append("dropped") }
        }
        return out
    }

    @Test("refusals noticed in two batches, the later lines first, still come back in the order logged")
    func twoPutBacks() throws {
        var backlog = Backlog(capacity: 100)
        let sent = try send(["L1", "L2", "L3"], through: &backlog)
        for line in ["L7", "L8"] { backlog.append(line, at: 0) }
        backlog.putBack([sent[0]])
        backlog.putBack([sent[1], sent[2]])
        #expect(backlog.lineCount == 5)
        #expect(drain(&backlog) == ["L1", "L2", "L3", "L7", "L8"])
    }

    @Test("a put-back of a line already waiting again does not add it twice")
    func putBackTwice() throws {
        var backlog = Backlog(capacity: 100)
        let sent = try send(["a", "b"], through: &backlog)
        backlog.append("c", at: 0)
        backlog.putBack(sent)
        backlog.putBack([sent[1]])
        #expect(backlog.lineCount == 3)
        #expect(drain(&backlog) == ["a", "b", "c"])
    }

    @Test("many rounds of sending and put-backs in any order keep every line once, in order", arguments: 0..<8)
    func manyPutBacks(seed: UInt64) throws {
        var random = SplitMix(state: seed)
        var backlog = Backlog(capacity: 10_000)
        var logged: [String] = []
        var delivered: [String] = []
        var inFlight: [(sequence: UInt64, line: String)] = []
        for round in 0..<300 {
            for _ in 0..<Int.random(in: 0..<5, using: &random) {
                logged.append("\(logged.count)")
                backlog.append(logged.last!, at: Int64(round))
            }
            // Send a few: they may be refused later.
            for _ in 0..<Int.random(in: 0..<6, using: &random) {
                guard let item = backlog.firstItem, case .line(let line) = item.entry else { break }
                backlog.removeFirst()
                inFlight.append((item.sequence, line))
            }
            // Some refusals come back, in batches and in any order.
            if Int.random(in: 0..<3, using: &random) == 0, !inFlight.isEmpty {
                let from = Int.random(in: 0..<inFlight.count, using: &random)
                var batch = Array(inFlight[from...])
                inFlight.removeSubrange(from...)
                batch.shuffle(using: &random)
                let cut = Int.random(in: 0..<batch.count + 1, using: &random)
                backlog.putBack(Array(batch[cut...]))
                backlog.putBack(Array(batch[..<cut]))
            } else if Int.random(in: 0..<2, using: &random) == 0 {
                delivered += inFlight.map(\.line)
                inFlight.removeAll()
            }
            // Once no refusal is pending, what was delivered is exactly a prefix of what was logged.
            if inFlight.isEmpty { #expect(delivered == Array(logged.prefix(delivered.count))) }
        }
        delivered += inFlight.map(\.line)
        delivered += drain(&backlog)
        #expect(delivered == logged)
    }

    @Test("the earliest refused datagram is found whatever order the refusals come in")
    func firstRefused() {
        let sent = ["<14>1 a", "<14>1 b", "<14>1 c", "<14>1 d"].map { Array($0.utf8) }
        #expect(SyslogConnection.firstRefused(sent: sent, excerpts: [Array("<14>1 c".utf8)]) == 2)
        #expect(
            SyslogConnection.firstRefused(sent: sent, excerpts: [Array("<14>1 d".utf8), Array("<14>1 b".utf8)]) == 1)
        #expect(SyslogConnection.firstRefused(sent: sent, excerpts: [Array("<14>1 x".utf8)]) == nil)
        #expect(SyslogConnection.firstRefused(sent: sent, excerpts: [[]]) == nil)
        #expect(SyslogConnection.firstRefused(sent: [], excerpts: [Array("<14>1 a".utf8)]) == nil)
    }

    @Test("a refusal makes every line sent after it go again, though those got no refusal of their own")
    func laterLinesResent() throws {
        let port = try SyslogReceiver.freePort(type: SOCK_DGRAM)
        let connection = SyslogConnection(destination: .udp(host: "127.0.0.1", port: port), octetCounting: false)
        try connection.connect()
        let start = DispatchTime.now().uptimeNanoseconds
        // Nothing listens: the first is refused. Then a receiver takes the next two.
        #expect(connection.send(Array("L1".utf8), sequence: 1, now: start) == .sent)
        Thread.sleep(forTimeInterval: 0.05)
        let receiver = try SyslogReceiver(udpPort: port)
        for (sequence, line) in [(UInt64(2), "L2"), (3, "L3")] {
            // The first send reports the earlier refusal (ECONNREFUSED) and sends nothing.
            var result = connection.send(Array(line.utf8), sequence: sequence, now: start)
            if case .retry = result { result = connection.send(Array(line.utf8), sequence: sequence, now: start) }
            #expect(result == .sent)
        }
        #expect(try receiver.messages(count: 2).map(\.text) == ["L2", "L3"])
        let refused = connection.takeRefused(now: start)
        #expect(refused.map(\.sequence) == [1, 2, 3])
        #expect(refused.map { String(decoding: $0.line, as: UTF8.self) } == ["L1", "L2", "L3"])
        #expect(!connection.awaitsRefusals, "nothing is left unconfirmed once all are taken back")
        #expect(connection.takeRefused(now: start).isEmpty)
    }

    @Test("more datagrams than are kept for resending are not sent before the oldest is settled")
    func saturation() throws {
        let port = try SyslogReceiver.freePort(type: SOCK_DGRAM)
        let receiver = try SyslogReceiver(udpPort: port)
        let connection = SyslogConnection(destination: .udp(host: "127.0.0.1", port: port), octetCounting: false)
        try connection.connect()
        let start = DispatchTime.now().uptimeNanoseconds
        for n in 0..<SyslogConnection.unconfirmedLimit {
            #expect(connection.send(Array("l\(n)".utf8), sequence: UInt64(n), now: start) == .sent)
            if n % 64 == 63 { _ = try receiver.messages(count: 64) }
        }
        #expect(connection.isSaturated)
        #expect(connection.takeRefused(now: start + SyslogConnection.refusalWindow - 1).isEmpty)
        #expect(connection.isSaturated, "still within the window: kept")
        #expect(connection.takeRefused(now: start + SyslogConnection.refusalWindow).isEmpty)
        #expect(!connection.isSaturated && !connection.awaitsRefusals)
    }

    let formatter = SyslogFormatter(style: .rfc5424, facility: .user, hostname: "h", processID: 7)

    /// UDP may deliver a line twice (a resent line that had arrived before its refusal was known);
    /// syslog receivers take a duplicate better than a gap, so duplicates are allowed here, but
    /// every line must come, and the first arrival of each in the order logged.
    @Test("UDP: the receiver closes during a burst of 50 lines and comes back: every line arrives, in order")
    func receiverRestartsDuringBurst() throws {
        let port = try SyslogReceiver.freePort(type: SOCK_DGRAM)
        var receiver: SyslogReceiver? = try SyslogReceiver(udpPort: port)
        let sink = try SyslogLogHandler.Sink(destination: .udp(host: "127.0.0.1", port: port), formatter: formatter)
        let lines = (0..<50).map { "line \($0)" }
        for line in lines[..<10] { sink.send(line, severity: .informational) }
        #expect(try #require(receiver).messages(count: 10).map(\.text) == Array(lines[..<10]))
        receiver = nil
        for (n, line) in lines[10...].enumerated() {
            sink.send(line, severity: .informational)
            if n % 4 == 3 { Thread.sleep(forTimeInterval: 0.005) }
        }
        Thread.sleep(forTimeInterval: 0.1)
        receiver = try SyslogReceiver(udpPort: port)
        let got = try #require(receiver).texts(including: Array(lines[10...]))
        var seen = Set<String>()
        let firsts = got.filter { seen.insert($0).inserted }
        #expect(firsts == Array(lines[10...]), "first arrivals out of order: \(got)")
        #expect(sink.finish(timeout: 5) == 0)
    }

}
