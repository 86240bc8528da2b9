import NIOCore
import Testing

@testable import Proxy

/// The shutdown steps (lame duck, drain, 1001, cut) and their waits, driven by events: no clock.
@Suite("Shutdown sequence: lame duck, drain, close, cut")
struct ShutdownSequenceTests {
    typealias Action = ShutdownSequence.Action

    static let durations = ShutdownSequence.Durations(
        lameDuck: .seconds(2), drain: .seconds(30), closeGrace: .seconds(3), cutGrace: .seconds(1))

    func sequence(lameDuck: TimeAmount = durations.lameDuck, drain: TimeAmount = durations.drain) -> ShutdownSequence {
        ShutdownSequence(
            durations: .init(lameDuck: lameDuck, drain: drain, closeGrace: .seconds(3), cutGrace: .seconds(1)))
    }

    @Test("every step in order when each wait runs out: 503, accept, close the listener, drain, 1001, cut")
    func fullSequence() {
        var shutdown = sequence()
        #expect(shutdown.start(lameDuck: true) == [.reportDraining, .wait(.seconds(2), endsWhenNoSessions: false)])
        #expect(shutdown.step == .lameDuck)
        #expect(shutdown.handle(.elapsed) == [.closeListener, .wait(.seconds(30), endsWhenNoSessions: true)])
        #expect(shutdown.step == .draining)
        #expect(shutdown.handle(.elapsed) == [.closeSessions, .wait(.seconds(3), endsWhenNoSessions: true)])
        #expect(shutdown.step == .closing)
        #expect(shutdown.handle(.elapsed) == [.cutSessions, .wait(.seconds(1), endsWhenNoSessions: true)])
        #expect(shutdown.step == .cutting)
        #expect(shutdown.handle(.elapsed) == [.finish])
        #expect(shutdown.step == .finished)
        #expect(shutdown.handle(.hurried) == [])
    }

    @Test("the lame duck waits out its time even with no session open; the drain ends when the last one does")
    func sessionsEndingEarly() {
        var shutdown = sequence()
        _ = shutdown.start(lameDuck: true)
        // The lame duck does not wait on sessions: an empty server keeps accepting for the whole period.
        #expect(shutdown.handle(.noSessionsLeft) == [])
        #expect(shutdown.step == .lameDuck)
        _ = shutdown.handle(.elapsed)
        #expect(shutdown.handle(.noSessionsLeft) == [.finish])
        // The sessions ended on their own: no 1001 was sent.
    }

    @Test("sessions that answer the 1001 end the shutdown before the grace runs out")
    func closingEndsEarly() {
        var shutdown = sequence(lameDuck: .zero, drain: .zero)
        #expect(
            shutdown.start(lameDuck: true)
                == [.reportDraining, .closeListener, .closeSessions, .wait(.seconds(3), endsWhenNoSessions: true)])
        #expect(shutdown.handle(.noSessionsLeft) == [.finish])
    }

    @Test("without a lame duck (its own stop, no health path, or 0 s) the listener closes at once")
    func noLameDuck() {
        var own = sequence()
        #expect(
            own.start(lameDuck: false)
                == [.reportDraining, .closeListener, .wait(.seconds(30), endsWhenNoSessions: true)])
        var zero = sequence(lameDuck: .zero)
        #expect(
            zero.start(lameDuck: true)
                == [.reportDraining, .closeListener, .wait(.seconds(30), endsWhenNoSessions: true)])
    }

    @Test("a hurry during the lame duck closes the listener and sends 1001 now, skipping the drain")
    func hurryInLameDuck() {
        var shutdown = sequence()
        _ = shutdown.start(lameDuck: true)
        #expect(
            shutdown.handle(.hurried) == [.closeListener, .closeSessions, .wait(.seconds(3), endsWhenNoSessions: true)])
        #expect(shutdown.step == .closing)
    }

    @Test("a hurry during the drain sends 1001 now; another during the close handshakes cuts the sessions")
    func hurryInDrainAndClose() {
        var shutdown = sequence()
        _ = shutdown.start(lameDuck: false)
        #expect(shutdown.handle(.hurried) == [.closeSessions, .wait(.seconds(3), endsWhenNoSessions: true)])
        #expect(shutdown.handle(.hurried) == [.cutSessions, .wait(.seconds(1), endsWhenNoSessions: true)])
        #expect(shutdown.handle(.hurried) == [.finish])
    }

    @Test("every action list ends with a wait or finish, and the sequence always reaches finish", arguments: [
        [ShutdownSequence.Event.elapsed], [.hurried], [.noSessionsLeft, .elapsed], [.elapsed, .hurried],
        [.hurried, .noSessionsLeft], [.elapsed, .elapsed, .noSessionsLeft],
    ])
    func alwaysFinishes(pattern: [ShutdownSequence.Event]) {
        for lameDuck in [true, false] {
            var shutdown = sequence()
            var actions = shutdown.start(lameDuck: lameDuck)
            var steps = 0
            while actions.last != .finish {
                guard case .wait = actions.last else {
                    Issue.record("actions end with neither a wait nor finish: \(actions)")
                    return
                }
                let next = shutdown.handle(pattern[steps % pattern.count])
                if !next.isEmpty { actions = next }
                steps += 1
                if steps > 20 {
                    Issue.record("no finish after 20 waits with \(pattern)")
                    return
                }
            }
            #expect(actions.filter { $0 == .closeListener }.count <= 1)
        }
    }

    @Test("the proxy's own stops (run once, timeouts) get no lame duck; signals, the group and stop() do")
    func whoGetsALameDuck() {
        #expect(ProxyServer.StopReason.signal(15).isFromOutside)
        #expect(ProxyServer.StopReason.gracefulShutdown.isFromOutside)
        #expect(ProxyServer.StopReason.requested.isFromOutside)
        #expect(!ProxyServer.StopReason.runOnce.isFromOutside)
        #expect(!ProxyServer.StopReason.timeout.isFromOutside)
        #expect(!ProxyServer.StopReason.idleTimeout.isFromOutside)
    }
}
