import ArgumentParser
import NIOCore
import Proxy
import Testing

@testable import WebsockifyCLI

@Suite("Command line: --threads")
struct EventLoopCommandLineTests {
    @Test("without --threads one event loop per core; --threads N sets N")
    func count() throws {
        #expect(try configuration(["6080", "h:1"]).eventLoopThreads == System.coreCount)
        #expect(try configuration(["--threads", "1", "6080", "h:1"]).eventLoopThreads == 1)
        #expect(try configuration(["--threads=7", "6080", "h:1"]).eventLoopThreads == 7)
    }

    @Test("a count under 1 or over 1024, or not a number, is a usage error", arguments: ["0", "-2", "1025", "two"])
    func invalid(value: String) {
        #expect {
            try Websockify.parse(["--threads=\(value)", "6080", "h:1"])
        } throws: { error in
            "\(Websockify.message(for: error))".contains("--threads")
        }
    }
}
