import Testing

@testable import Proxy

@Suite("Trimming spaces, tabs, CR and LF")
struct TrimmingWhitespaceTests {
    @Test("CRLF line endings are trimmed although \"\\r\\n\" is one Character", arguments: [
        ("secret\r\n", "secret"),
        ("\r\n\t secret \r\n\r\n", "secret"),
        ("a b\r\nc\r\n", "a b\r\nc"),
        ("  tok: host:5900\r", "tok: host:5900"),
        ("\r\n", ""),
        ("", ""),
        ("é\r\n", "é"),
    ])
    func crlf(text: String, expected: String) {
        #expect(text.trimmingWhitespace() == expected)
        #expect(text[...].trimmingWhitespace() == expected, "as a Substring")
    }

    @Test("other Unicode spaces are kept: only what line-oriented files and headers use is trimmed")
    func onlyASCIISpaces() {
        #expect("\u{00A0}x\u{00A0}".trimmingWhitespace() == "\u{00A0}x\u{00A0}")
    }
}
