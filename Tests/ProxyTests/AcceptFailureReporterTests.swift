import Glibc
import Testing

@testable import Proxy

@Suite("Accept failures at the descriptor limit: what is logged, how often")
struct AcceptFailureReporterTests {
    let second: UInt64 = 1_000_000_000

    @Test("the first failure is reported at once; a busy minute of failures gives one report")
    func oneReportPerInterval() {
        var reporter = AcceptFailureReporter()
        #expect(reporter.failed(errno: EMFILE, at: 5 * second) == .cannotAccept(errno: EMFILE, failures: 1))
        // 10 retries a second for 59.9 s: nothing more.
        for tenth in 1..<600 {
            #expect(reporter.failed(errno: EMFILE, at: 5 * second + UInt64(tenth) * second / 10) == nil)
        }
        // A minute after the first report, the held-back failures are counted in the next.
        #expect(reporter.failed(errno: EMFILE, at: 65 * second) == .cannotAccept(errno: EMFILE, failures: 600))
    }

    @Test("accepting again is reported once after a reported stretch of failures, with its length")
    func recovery() throws {
        var reporter = AcceptFailureReporter()
        #expect(reporter.accepted(at: 1) == nil, "nothing to say when nothing failed")
        _ = reporter.failed(errno: ENFILE, at: 10 * second)
        _ = reporter.failed(errno: ENFILE, at: 11 * second)
        _ = reporter.failed(errno: ENFILE, at: 12 * second)
        #expect(reporter.accepted(at: 13 * second) == .acceptingAgain(failures: 3, nanoseconds: 3 * second))
        #expect(reporter.accepted(at: 14 * second) == nil)
    }

    @Test("a server swinging around its limit logs at most one pair of lines per interval")
    func swinging() {
        var reporter = AcceptFailureReporter(interval: 60 * second)
        var notices: [AcceptFailureReporter.Notice] = []
        // Every 100 ms: a failure, then a connection accepted (another one closed meanwhile).
        for step in 0..<1200 {
            let now = UInt64(step) * second / 10
            if let notice = reporter.failed(errno: EMFILE, at: now) { notices.append(notice) }
            if let notice = reporter.accepted(at: now + 1) { notices.append(notice) }
        }
        // 120 s: reports at 0 s and 60 s, each followed by one "accepting again".
        #expect(
            notices == [
                .cannotAccept(errno: EMFILE, failures: 1), .acceptingAgain(failures: 1, nanoseconds: 1),
                .cannotAccept(errno: EMFILE, failures: 600), .acceptingAgain(failures: 1, nanoseconds: 1),
            ])
    }

    @Test("the warning names the limit and how to raise it; other causes are named too")
    func messages() {
        let text = AcceptFailureReporter.message(
            for: .cannotAccept(errno: EMFILE, failures: 1), limit: 64, sessions: 20, retry: 100_000_000)
        #expect(text.contains("too many open files (EMFILE)"))
        #expect(text.contains("open-file limit (RLIMIT_NOFILE) is 64"))
        #expect(text.contains("ulimit -n") && text.contains("LimitNOFILE="))
        #expect(text.contains("20 session(s) open") && text.contains("every 100 ms"))
        #expect(!text.contains("failed attempts since"))
        let later = AcceptFailureReporter.message(
            for: .cannotAccept(errno: EMFILE, failures: 600), limit: nil, sessions: 0, retry: 100_000_000)
        #expect(later.contains("is unknown") && later.contains("600 failed attempts since the last report"))
        #expect(AcceptFailureReporter.cause(of: ENFILE, limit: 64).contains("fs.file-max"))
        #expect(AcceptFailureReporter.cause(of: ENOBUFS, limit: 64).contains("ENOBUFS"))
        let again = AcceptFailureReporter.message(
            for: .acceptingAgain(failures: 31, nanoseconds: 3_100_000_000), limit: 64, sessions: 1, retry: 1)
        #expect(again == "accepting connections again after 31 failed attempt(s) over 3.1 s")
    }

    @Test("the limit read is the process's soft RLIMIT_NOFILE")
    func limit() throws {
        var limits = rlimit()
        try #require(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0)
        #expect(AcceptFailureReporter.openFileLimit() == UInt64(limits.rlim_cur))
    }
}
