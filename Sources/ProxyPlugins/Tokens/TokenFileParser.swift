import NIOHTTP1
import Proxy
/// Parses websockify token files: one `token: host:port` (or `token: unix_socket:/path`) per line;
/// blank lines and lines starting with `#` are skipped. As in websockify, the token ends at the
/// only colon followed by white space; a line with none or several is malformed. A malformed line
/// is skipped and reported with its file and line number.
public enum TokenFileParser {
    /// One usable line.
    public struct Entry: Equatable, Sendable {
        public var token: String
        public var target: ProxyConfiguration.Target
        public var line: Int
    }

    /// A line that was skipped, and why.
    public struct Diagnostic: Equatable, Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    /// What one line is.
    public enum Line: Equatable, Sendable {
        case blank
        case entry(token: String, target: ProxyConfiguration.Target)
        case malformed(String)
    }

    /// Every entry and every diagnostic of `text`, the contents of `file`.
    public static func parse(_ text: String, file: String) -> (entries: [Entry], diagnostics: [Diagnostic]) {
        var entries: [Entry] = []
        var diagnostics: [Diagnostic] = []
        var number = 0
        // "\r\n" is one Character in Swift: split on it too.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            switch parseLine(raw) {
            case .blank: continue
            case .entry(let token, let target): entries.append(Entry(token: token, target: target, line: number))
            case .malformed(let why): diagnostics.append(Diagnostic(file: file, line: number, message: why))
            }
        }
        return (entries, diagnostics)
    }

    /// One line of a token file.
    public static func parseLine(_ raw: Substring) -> Line {
        let line = raw.trimmingWhitespace()
        if line.isEmpty || line.hasPrefix("#") { return .blank }
        // Bytes, not Characters: a large file parses several times faster.
        let bytes = Array(line.utf8)
        let separators = bytes.indices.filter { i in
            bytes[i] == UInt8(ascii: ":") && i + 1 < bytes.count
                && (bytes[i + 1] == UInt8(ascii: " ") || bytes[i + 1] == UInt8(ascii: "\t"))
        }
        guard separators.count == 1, let at = separators.first else {
            return .malformed(
                separators.isEmpty
                    ? "expected 'token: host:port' (a colon and a space after the token)"
                    : "expected 'token: host:port' (more than one colon followed by a space)")
        }
        let token = String(decoding: bytes[..<at], as: UTF8.self)
        guard !token.isEmpty else { return .malformed("empty token before ': '") }
        switch TokenTarget.parse(String(decoding: bytes[(at + 1)...], as: UTF8.self)) {
        case .success(let target): return .entry(token: token, target: target)
        case .failure(let error): return .malformed("bad target for token: \(error.message)")
        }
    }
}
