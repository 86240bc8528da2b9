@testable import Proxy
@testable import ProxyPlugins

/// `TokenFileParser` (ProxyPlugins/Tokens): a token file as websockify's TokenFile plugin reads it.
///
/// Invariants: every non-blank line is an entry or a diagnostic, numbered as the file's lines; the
/// file parses as its lines parse one by one; an entry written back as `token: target` parses to
/// the same entry.
enum TokenFileTarget {
    static let target = FuzzTarget(
        name: "token-file",
        summary: "TokenFileParser: lines accounted for, file = its lines, entries written back parse the same"
    ) { run($0) }

    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let (entries, diagnostics) = TokenFileParser.parse(text, file: "tokens")
        // The file's lines as the parser splits them (the same rule, restated: "\r\n" is one
        // Character); what is checked is that the file's result is its lines' results, numbered.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        var expectedEntries: [TokenFileParser.Entry] = []
        var expectedDiagnostics = 0
        for (index, line) in lines.enumerated() {
            switch TokenFileParser.parseLine(line) {
            case .blank: break
            case .entry(let token, let target): expectedEntries.append(.init(token: token, target: target, line: index + 1))
            case .malformed: expectedDiagnostics += 1
            }
        }
        FuzzCheck.require(entries == expectedEntries, "the file's entries are not its lines' entries")
        FuzzCheck.require(diagnostics.count == expectedDiagnostics, "the file's diagnostics are not its lines'")
        for entry in entries {
            FuzzCheck.require(!entry.token.isEmpty, "an empty token")
            let written: String
            switch entry.target {
            case .hostPort(let host, let port):
                FuzzCheck.require((1...65535).contains(port), "port \(port)")
                written = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unixSocket(let path):
                FuzzCheck.require(!path.isEmpty, "an empty socket path")
                written = "\(TokenTarget.unixSocketHost):\(path)"
            }
            let again = TokenFileParser.parseLine(Substring("\(entry.token): \(written)"))
            FuzzCheck.require(
                again == .entry(token: entry.token, target: entry.target),
                "line \(entry.line) \(entry) written back as '\(entry.token): \(written)' parses as \(again)")
        }
    }
}
