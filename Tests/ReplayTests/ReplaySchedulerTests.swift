import Testing

@testable import Replay

/// Pacing with an injected clock: the scheduler is asked at chosen times; nothing sleeps.
struct ReplaySchedulerTests {
    let ms: UInt64 = 1_000_000

    @Test func sendsAtRecordedOffsetsScaledBySpeed() {
        var s = ReplayScheduler(
            items: [.init(timeMicros: 0), .init(timeMicros: 100_000), .init(timeMicros: 300_000)], pacing: .speed(2),
            syncToClient: true, waitTimeoutNanos: 10_000 * ms, startNanos: 1_000 * ms)
        #expect(
            s.next(nowNanos: 1_000 * ms, clientUnits: 0, clientWritable: true)
                == .send(index: 0, scheduledNanos: 1_000 * ms))
        #expect(s.next(nowNanos: 1_000 * ms, clientUnits: 0, clientWritable: true) == .sleep(untilNanos: 1_050 * ms))
        #expect(
            s.next(nowNanos: 1_051 * ms, clientUnits: 0, clientWritable: true)
                == .send(index: 1, scheduledNanos: 1_050 * ms))
        #expect(s.next(nowNanos: 1_060 * ms, clientUnits: 0, clientWritable: true) == .sleep(untilNanos: 1_150 * ms))
        #expect(
            s.next(nowNanos: 1_150 * ms, clientUnits: 0, clientWritable: true)
                == .send(index: 2, scheduledNanos: 1_150 * ms))
        #expect(s.next(nowNanos: 1_150 * ms, clientUnits: 0, clientWritable: true) == .finished)
    }

    @Test func waitsForTheClientThenKeepsRecordedSpacingFromItsMessage() {
        // Frame 1 was recorded 20 ms after the client's message at 500 ms.
        var s = ReplayScheduler(
            items: [.init(timeMicros: 0), .init(timeMicros: 520_000, requiredUnits: 1, requiredAtMicros: 500_000)],
            pacing: .speed(1), syncToClient: true, waitTimeoutNanos: 10_000 * ms, startNanos: 0)
        #expect(s.next(nowNanos: 0, clientUnits: 0, clientWritable: true) == .send(index: 0, scheduledNanos: 0))
        // The client is late: its message was due at 500 ms; give up 10 s after that.
        #expect(
            s.next(nowNanos: 1 * ms, clientUnits: 0, clientWritable: true)
                == .waitForClient(required: 1, untilNanos: 10_500 * ms))
        #expect(
            s.next(nowNanos: 2_000 * ms, clientUnits: 0, clientWritable: true)
                == .waitForClient(required: 1, untilNanos: 10_500 * ms))
        // It arrives at 3 s: the answer follows 20 ms later, as recorded.
        #expect(s.next(nowNanos: 3_000 * ms, clientUnits: 1, clientWritable: true) == .sleep(untilNanos: 3_020 * ms))
        #expect(
            s.next(nowNanos: 3_020 * ms, clientUnits: 1, clientWritable: true)
                == .send(index: 1, scheduledNanos: 3_020 * ms))
    }

    @Test func anEarlyClientDoesNotPullTheScheduleForward() {
        var s = ReplayScheduler(
            items: [.init(timeMicros: 520_000, requiredUnits: 1, requiredAtMicros: 500_000)], pacing: .speed(1),
            syncToClient: true, waitTimeoutNanos: 10_000 * ms, startNanos: 0)
        #expect(s.next(nowNanos: 100 * ms, clientUnits: 1, clientWritable: true) == .sleep(untilNanos: 520 * ms))
    }

    @Test func givesUpOnTheClientAfterTheTimeoutAndPlaysByTheClock() {
        var s = ReplayScheduler(
            items: [
                .init(timeMicros: 100_000, requiredUnits: 1, requiredAtMicros: 50_000),
                .init(timeMicros: 200_000, requiredUnits: 2, requiredAtMicros: 150_000),
            ],
            pacing: .speed(1), syncToClient: true, waitTimeoutNanos: 1_000 * ms, startNanos: 0)
        #expect(
            s.next(nowNanos: 0, clientUnits: 0, clientWritable: true)
                == .waitForClient(required: 1, untilNanos: 1_050 * ms))
        #expect(s.next(nowNanos: 1_050 * ms, clientUnits: 0, clientWritable: true) == .clientTimedOut(required: 1))
        #expect(!s.syncToClient)
        #expect(
            s.next(nowNanos: 1_050 * ms, clientUnits: 0, clientWritable: true)
                == .send(index: 0, scheduledNanos: 100 * ms))
        #expect(
            s.next(nowNanos: 1_050 * ms, clientUnits: 0, clientWritable: true)
                == .send(index: 1, scheduledNanos: 200 * ms))
    }

    @Test func timeSyncIgnoresTheClient() {
        var s = ReplayScheduler(
            items: [.init(timeMicros: 10_000, requiredUnits: 5, requiredAtMicros: 5_000)], pacing: .speed(1),
            syncToClient: false, waitTimeoutNanos: 1_000 * ms, startNanos: 0)
        #expect(s.next(nowNanos: 0, clientUnits: 0, clientWritable: true) == .sleep(untilNanos: 10 * ms))
        #expect(
            s.next(nowNanos: 10 * ms, clientUnits: 0, clientWritable: true) == .send(index: 0, scheduledNanos: 10 * ms))
    }

    @Test func fastSendsAsTheClientReads() {
        var s = ReplayScheduler(
            items: [.init(timeMicros: 0), .init(timeMicros: 60_000_000)], pacing: .fast, syncToClient: true,
            waitTimeoutNanos: 1_000 * ms, startNanos: 0)
        #expect(s.next(nowNanos: 0, clientUnits: 0, clientWritable: true) == .send(index: 0, scheduledNanos: nil))
        #expect(s.next(nowNanos: 0, clientUnits: 0, clientWritable: false) == .waitForWritable)
        #expect(s.next(nowNanos: 1, clientUnits: 0, clientWritable: true) == .send(index: 1, scheduledNanos: nil))
        #expect(s.next(nowNanos: 1, clientUnits: 0, clientWritable: true) == .finished)
    }
}
