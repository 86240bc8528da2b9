import Testing

@testable import Proxy

@Suite("Recording write failures on a full disk: what is logged, how often")
struct RecordingFailureReporterTests {
    let second: UInt64 = 1_000_000_000

    @Test("the first failure is logged at once; a minute of failures gives one summary")
    func oneSummaryPerInterval() {
        var reporter = RecordingFailureReporter()
        #expect(reporter.failed(at: 5 * second) == .failed)
        // A dropped block every 10 ms (about 100 MiB/s recorded) for 59.99 s: nothing more.
        for step in 1..<6000 {
            #expect(reporter.failed(at: 5 * second + UInt64(step) * second / 100) == nil)
        }
        // A minute after the first line, one summary counts the held-back failures and this one.
        #expect(reporter.failed(at: 65 * second) == .summary(failures: 6000, nanoseconds: 60 * second))
        #expect(reporter.failed(at: 66 * second) == nil)
    }

    @Test("a disk full for ten minutes logs about one line a minute")
    func tenMinutes() {
        var reporter = RecordingFailureReporter()
        var lines = 0
        for step in 0..<60_000 where reporter.failed(at: UInt64(step) * second / 100) != nil { lines += 1 }
        #expect(lines == 10)
    }

    @Test("failures held back when the recording closes are summed up then; nothing held, nothing said")
    func finish() {
        var reporter = RecordingFailureReporter()
        #expect(reporter.finish(at: 1) == nil, "nothing failed")
        #expect(reporter.failed(at: 10 * second) == .failed)
        #expect(reporter.finish(at: 11 * second) == nil, "the only failure was logged")
        #expect(reporter.failed(at: 12 * second) == nil)
        #expect(reporter.failed(at: 13 * second) == nil)
        #expect(reporter.finish(at: 20 * second) == .summary(failures: 2, nanoseconds: 10 * second))
        #expect(reporter.finish(at: 21 * second) == nil)
    }

    @Test("a failure long after a quiet spell is logged at once, as the first was")
    func isolatedFailures() {
        var reporter = RecordingFailureReporter(interval: 60 * second)
        #expect(reporter.failed(at: 0) == .failed)
        #expect(reporter.failed(at: 3600 * second) == .failed)
        #expect(reporter.failed(at: 3601 * second) == nil)
        #expect(reporter.failed(at: 3660 * second) == .summary(failures: 2, nanoseconds: 60 * second))
    }

    @Test("the lines name the error and, in a summary, the count and the time span")
    func messages() {
        let error = "full.rec: at byte 4096: cannot write a block of 17 records: No space left on device"
        #expect(RecordingFailureReporter.message(for: .failed, error: error) == "recording: \(error)")
        let summary = RecordingFailureReporter.message(
            for: .summary(failures: 6000, nanoseconds: 60 * second + 5), error: error)
        #expect(summary.hasPrefix("recording: 6000 more write(s) failed in the last 60 s"))
        #expect(summary.hasSuffix("the last: \(error)"))
    }

    @Test("writes succeeding again end the outage with one note counting all its failures; the next failure is logged at once")
    func recovery() {
        var reporter = RecordingFailureReporter()
        #expect(reporter.writing(at: 1) == nil, "nothing failed: nothing to say")
        #expect(reporter.failed(at: 10 * second) == .failed)
        #expect(reporter.failed(at: 11 * second) == nil)
        #expect(reporter.failed(at: 12 * second) == nil)
        #expect(reporter.writing(at: 40 * second) == .recovered(failures: 3, nanoseconds: 30 * second))
        #expect(reporter.writing(at: 41 * second) == nil, "one note per outage")
        #expect(reporter.finish(at: 42 * second) == nil, "the held-back failures were counted in the note")
        #expect(reporter.failed(at: 43 * second) == .failed, "a new outage is named at once")
        let note = RecordingFailureReporter.message(for: .recovered(failures: 3, nanoseconds: 30 * second), error: "")
        #expect(note == "recording: writing again after 3 failed write(s) over 30 s (the file's gap blocks say what was lost)")
    }
}
