import ServiceSupport
import Testing

@Suite("Respawn backoff (--wrap-mode=respawn)")
struct RespawnBackoffTests {
    @Test("quick exits double the delay from 0.5 s up to 30 s")
    func doubling() {
        var backoff = RespawnBackoff()
        let delays = (0..<9).map { _ in backoff.delay(afterRunningFor: .milliseconds(100)) }
        #expect(
            delays == [
                .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30),
                .seconds(30), .seconds(30),
            ])
        #expect(backoff.quickExits == 9)
    }

    @Test("a run of at least 10 s restarts at once and resets the count")
    func stableRunResets() {
        var backoff = RespawnBackoff()
        _ = backoff.delay(afterRunningFor: .seconds(1))
        _ = backoff.delay(afterRunningFor: .seconds(1))
        #expect(backoff.delay(afterRunningFor: .seconds(10)) == .zero)
        #expect(backoff.quickExits == 0)
        #expect(backoff.delay(afterRunningFor: .seconds(9)) == .milliseconds(500))
    }

    @Test("custom limits; the cap holds even when the initial delay exceeds it")
    func custom() {
        var backoff = RespawnBackoff(initialDelay: .seconds(3), maximumDelay: .seconds(2), stableAfter: .seconds(1))
        #expect(backoff.delay(afterRunningFor: .zero) == .seconds(2))
        #expect(backoff.delay(afterRunningFor: .zero) == .seconds(2))
        #expect(backoff.delay(afterRunningFor: .seconds(1)) == .zero)
    }

    @Test("many quick exits do not overflow")
    func manyExits() {
        var backoff = RespawnBackoff()
        for _ in 0..<10_000 { _ = backoff.delay(afterRunningFor: .zero) }
        #expect(backoff.delay(afterRunningFor: .zero) == .seconds(30))
    }
}
