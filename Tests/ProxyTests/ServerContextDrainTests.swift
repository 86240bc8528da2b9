import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

/// Shutdown waits for the sessions by being told when the last one ends, not by polling the count.
@Suite("Waiting for the sessions to end, without sockets")
struct ServerContextDrainTests {
    /// What `promise` was completed with so far (nil: not yet).
    func outcome(_ promise: EventLoopPromise<Bool>, on loop: EmbeddedEventLoop) -> Bool? {
        let result = NIOLockedValueBox<Bool?>(nil)
        promise.futureResult.whenSuccess { value in result.withLockedValue { $0 = value } }
        loop.run()
        return result.withLockedValue { $0 }
    }

    @Test("the waiter is told (true) when the last session ends, not before")
    func toldWhenLastEnds() throws {
        let harness = try SessionHarness()
        try #require(harness.openSessions == 1)
        let ended = harness.loop.makePromise(of: Bool.self)
        harness.server.notifyWhenNoSessions(ended)
        #expect(outcome(ended, on: harness.loop) == nil, "a session is still open")
        try harness.end()
        #expect(harness.openSessions == 0)
        #expect(outcome(ended, on: harness.loop) == true)
    }

    @Test("with no session open the waiter is told at once; a deadline that comes first wins")
    func noSessionAndDeadline() throws {
        let harness = try SessionHarness()
        let early = harness.loop.makePromise(of: Bool.self)
        harness.server.notifyWhenNoSessions(early)
        // The grace period ran out first: the session's later end changes nothing.
        early.succeed(false)
        try harness.end()
        #expect(outcome(early, on: harness.loop) == false)
        let none = harness.loop.makePromise(of: Bool.self)
        harness.server.notifyWhenNoSessions(none)
        #expect(outcome(none, on: harness.loop) == true)
    }
}
