import NIOCore
import NIOHTTP1
import Testing

@testable import Proxy
@testable import ProxyPlugins

@Suite("Token files: one line at a time")
struct TokenFileParserTests {
    @Test("entries, comments and blank lines; line numbers count every line")
    func entries() throws {
        let text = "# comment\n\nvnc1: 127.0.0.1:5901\n  vnc2:\t[::1]:5902  \nsock: unix_socket:/run/x.sock\r\nhost: example.com:5900"
        let (entries, diagnostics) = TokenFileParser.parse(text, file: "t")
        #expect(diagnostics.isEmpty)
        try #require(entries.map(\.token) == ["vnc1", "vnc2", "sock", "host"])
        #expect(entries.map(\.line) == [3, 4, 5, 6])
        #expect(entries[0].target == .hostPort(host: "127.0.0.1", port: 5901))
        #expect(entries[1].target == .hostPort(host: "::1", port: 5902))
        #expect(entries[2].target == .unixSocket(path: "/run/x.sock"))
    }

    @Test("bare IPv6 targets, as websockify 0.13 reads them: the last colon ends the host")
    func bareIPv6() throws {
        let (entries, diagnostics) = TokenFileParser.parse("a: ::1:5900\nb: 2001:db8::7:5901\nc: ::ffff:10.0.0.1:5902", file: "t")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(entries.map(\.target) == [
            .hostPort(host: "::1", port: 5900), .hostPort(host: "2001:db8::7", port: 5901),
            .hostPort(host: "::ffff:10.0.0.1", port: 5902),
        ])
        #expect(try RedisTokenStore.parseValue(#"{"host": "::1:5900"}"#).get() == .hostPort(host: "::1", port: 5900))
    }

    @Test(
        "malformed lines are skipped with file:line",
        arguments: [
            ("nocolonspace:127.0.0.1:1", "a colon and a space"),
            ("a: b: c:1", "more than one"),
            ("tok: hostonly", "expected host:port"),
            ("tok: host:notaport", "port is not a number"),
            ("tok: host:70000", "out of range"),
            // Found by the token-file fuzz target: port 0 was taken, though no connection can reach it.
            ("tok: host:0", "not a number in 1-65535"),
            ("tok: [::1]:0", "not a number in 1-65535"),
            // Also the token-file target's: a bracketed host was taken with spaces and NULs in it (a NUL
            // ends the name where the resolver reads it: another host than the one named).
            ("tok: [ a]:5900", "contains a space"),
            ("v6: [[?;1]:5903", "contains a bracket"),  // found by the token-file fuzz target
            ("tok: a]:5900", "contains a bracket"),
            ("tok: [a\u{0}b]:5900", "the control character U+0"),
            ("tok: a\u{7}b:5900", "the control character U+7"),
            ("tok: unix_socket:", "unix socket path missing"),
            (": host:1", "empty token"),
            ("tok: fe80::1", "not an IPv6 address"),
            ("tok: 10.0.0.1:5900:1", "not an IPv6 address"),
        ])
    func malformed(line: String, why: String) {
        let (entries, diagnostics) = TokenFileParser.parse("ok: h:1\n\(line)\nok2: h:2", file: "/etc/tokens")
        #expect(entries.map(\.token) == ["ok", "ok2"])
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.description.hasPrefix("/etc/tokens:2: ") == true)
        #expect(diagnostics.first?.message.contains(why) == true, "\(diagnostics)")
    }
}

@Suite("Token extraction from a request")
struct TokenExtractionTests {
    func head(_ uri: String, _ headers: [(String, String)] = []) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: HTTPHeaders(headers))
    }

    @Test(
        "query parameter on any path, decoded as Python's parse_qs",
        arguments: [
            ("/?token=abc", "abc"), ("/websockify?x=1&token=abc", "abc"), ("/a/b?token=a%20b%2Fc", "a b/c"),
            ("/?token=a+b", "a b"), ("/?token=&token=second", "second"), ("/?token=first&token=second", "first"),
            ("/?token=abc%0A", "abc"), ("/?token=%E2%9C%93", "✓"), ("/?token=50%", "50%"), ("/?token=x#frag", "x"),
        ])
    func query(uri: String, token: String) {
        #expect(TokenExtraction.token(in: head(uri), hostToken: false)?.token == token)
        #expect(TokenExtraction.token(in: head(uri), hostToken: false)?.origin == .query)
    }

    @Test("no token: no query, other parameters, empty value")
    func none() {
        for uri in ["/", "/token=abc", "/?tokens=abc", "/?token=", "/?token"] {
            #expect(TokenExtraction.token(in: head(uri), hostToken: false) == nil, "\(uri)")
        }
    }

    @Test("cookie: among several, over several headers, quoted, percent-decoded; the query wins")
    func cookie() {
        let cookies = [("Cookie", "a=1; tok=2"), ("Cookie", "x=y;  token=\"c%3Dd\"; token=later")]
        let found = TokenExtraction.token(in: head("/websockify", cookies), hostToken: false)
        #expect(found?.token == "c=d" && found?.origin == .cookie)
        #expect(TokenExtraction.token(in: head("/?token=q", cookies), hostToken: false)?.token == "q")
        #expect(TokenExtraction.token(in: head("/", [("Cookie", "token=")]), hostToken: false) == nil)
        #expect(TokenExtraction.cookie("token", in: ["a=b,token=c"]) == nil)
    }

    @Test("--host-token: the Host header's host part only; query and cookie are ignored")
    func host() {
        let withPort = head("/?token=q", [("Host", "vnc1.example.com:6080"), ("Cookie", "token=c")])
        #expect(TokenExtraction.token(in: withPort, hostToken: true)?.token == "vnc1.example.com")
        #expect(TokenExtraction.token(in: head("/", [("Host", "plain")]), hostToken: true)?.token == "plain")
        #expect(TokenExtraction.token(in: head("/", [("Host", "[::1]:80")]), hostToken: true)?.token == "::1")
        #expect(TokenExtraction.token(in: head("/?token=q"), hostToken: true) == nil)
    }

    @Test("tokens in log lines are quoted, escaped and cut")
    func logText() {
        #expect(LogText.quoted("ab") == "'ab'")
        #expect(LogText.quoted("a\nb'") == "'a\\nb\\''")
        #expect(LogText.quoted(String(repeating: "x", count: 100)) == "'" + String(repeating: "x", count: 64) + "…'")
    }
}

@Suite("Token store values")
struct TokenValueTests {
    @Test("TokenRedis --token-source forms, with websockify's defaults and quoting")
    func redisSource() throws {
        typealias S = RedisTokenStore.Source
        #expect(try S.parse("redis") == S(host: "redis"))
        #expect(try S.parse("redis:6380") == S(host: "redis", port: 6380))
        #expect(try S.parse("redis:::secret") == S(host: "redis", password: "secret"))
        #expect(try S.parse("redis::::ns") == S(host: "redis", namespace: "ns"))
        #expect(try S.parse("redis::2::\"a:b\"") == S(host: "redis", db: 2, namespace: "a:b"))
        #expect(try S.parse("h:6380:1:pw:app") == S(host: "h", port: 6380, db: 1, password: "pw", namespace: "app"))
        for bad in ["", ":6379", "h:port", "h:1:x", "h:1:2:3:4:5", "h:0"] {
            #expect(throws: ProxyError.self, "\(bad)") { try S.parse(bad) }
        }
    }

    @Test("Redis values: JSON with host and port, websockify's JSON host:port, plain host:port")
    func redisValue() throws {
        let target = ProxyConfiguration.Target.hostPort(host: "10.0.0.5", port: 5900)
        #expect(try RedisTokenStore.parseValue(#"{"host": "10.0.0.5", "port": "5900"}"#).get() == target)
        #expect(try RedisTokenStore.parseValue(#"{"host": "10.0.0.5", "port": 5900}"#).get() == target)
        #expect(try RedisTokenStore.parseValue(#" {"host": "10.0.0.5:5900"} "#).get() == target)
        #expect(try RedisTokenStore.parseValue("10.0.0.5:5900\n").get() == target)
        #expect(try RedisTokenStore.parseValue("unix_socket:/tmp/s").get() == .unixSocket(path: "/tmp/s"))
        #expect(throws: TokenTargetError.self) { try RedisTokenStore.parseValue(#"{"host": "a\u0000b", "port": 1}"#).get() }
        #expect(throws: TokenTargetError.self) { try TokenTarget.make(host: "a b", port: "1").get() }
        for bad in ["{", #"{"port": 1}"#, #"{"host": "h", "port": "x"}"#, "hostonly", #"{"host": "h", "port": [1]}"#] {
            #expect(throws: TokenTargetError.self, "\(bad)") { try RedisTokenStore.parseValue(bad).get() }
        }
    }
}
