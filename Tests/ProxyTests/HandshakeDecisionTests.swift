import NIOCore
import NIOHTTP1
import Proxy
import Testing

@Suite("Handshake decisions")
struct HandshakeDecisionTests {
    func request(
        method: HTTPMethod = .GET, version: HTTPVersion = .http1_1, key: String? = "dGhlIHNhbXBsZSBub25jZQ==",
        wsVersion: String? = "13", upgrade: String? = "websocket", connection: String? = "Upgrade",
        protocols: [String] = []
    ) -> HTTPRequestHead {
        var headers: HTTPHeaders = ["Host": "example"]
        if let upgrade { headers.add(name: "Upgrade", value: upgrade) }
        if let connection { headers.add(name: "Connection", value: connection) }
        if let key { headers.add(name: "Sec-WebSocket-Key", value: key) }
        if let wsVersion { headers.add(name: "Sec-WebSocket-Version", value: wsVersion) }
        for p in protocols { headers.add(name: "Sec-WebSocket-Protocol", value: p) }
        return HTTPRequestHead(version: version, method: method, uri: "/websockify", headers: headers)
    }

    func status(_ decision: HandshakeDecision) -> HTTPResponseStatus? {
        if case .reject(let status, _, _) = decision { return status }
        return nil
    }

    @Test("RFC 6455 §1.3 example key gives the documented accept value")
    func acceptValue() {
        #expect(HandshakeDecision.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test("a valid request is accepted with the computed accept header")
    func accept() {
        guard case .accept(let headers, let proto, let mode) = HandshakeDecision.decide(request()) else {
            Issue.record("expected accept")
            return
        }
        #expect(headers["Sec-WebSocket-Accept"] == ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="])
        #expect(headers["Upgrade"] == ["websocket"])
        #expect(headers["Sec-WebSocket-Protocol"].isEmpty)
        #expect(proto == nil && mode == .binary)
    }

    @Test("header tokens are case-insensitive and may be lists")
    func tokenLists() {
        let decision = HandshakeDecision.decide(request(upgrade: "WebSocket", connection: "keep-alive, upgrade"))
        if case .accept = decision {} else { Issue.record("expected accept, got \(decision)") }
    }

    @Test(
        "missing or invalid key gives 400",
        arguments: [nil, "", "short", "dGhlIHNhbXBsZSBub25jZQ", "!!!!!!!!!!!!!!!!!!!!!!=="] as [String?])
    func badKey(key: String?) {
        #expect(status(HandshakeDecision.decide(request(key: key))) == .badRequest)
    }

    @Test("missing upgrade headers give 400")
    func missingUpgradeHeaders() {
        #expect(status(HandshakeDecision.decide(request(upgrade: nil))) == .badRequest)
        #expect(status(HandshakeDecision.decide(request(connection: nil))) == .badRequest)
        #expect(status(HandshakeDecision.decide(request(upgrade: "h2c"))) == .badRequest)
        #expect(status(HandshakeDecision.decide(request(wsVersion: nil))) == .badRequest)
        #expect(status(HandshakeDecision.decide(request(version: .http1_0))) == .badRequest)
    }

    @Test("other WebSocket versions get 426 with Sec-WebSocket-Version: 13", arguments: ["8", "12", "14", "x"])
    func otherVersion(version: String) {
        guard case .reject(let status, let headers, _) = HandshakeDecision.decide(request(wsVersion: version)) else {
            Issue.record("expected reject")
            return
        }
        #expect(status == .upgradeRequired)
        #expect(headers["Sec-WebSocket-Version"] == ["13"])
    }

    @Test("non-GET upgrades get 405", arguments: [HTTPMethod.POST, .PUT, .DELETE])
    func nonGet(method: HTTPMethod) {
        #expect(status(HandshakeDecision.decide(request(method: method))) == .methodNotAllowed)
    }

    @Test("a plain GET without upgrade gets 404")
    func plainGet() {
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: ["Host": "x"])
        #expect(status(HandshakeDecision.decide(head)) == .notFound)
    }

    @Test(
        "subprotocol choice",
        arguments: [
            (["binary"], "binary"), (["base64"], "base64"), (["base64, binary"], "binary"),
            (["base64", "binary"], "binary"), (["foo", "base64"], "base64"),
        ] as [([String], String)])
    func subprotocol(offered: [String], expected: String) {
        guard case .accept(let headers, let proto, let mode) = HandshakeDecision.decide(request(protocols: offered))
        else {
            Issue.record("expected accept for \(offered)")
            return
        }
        #expect(proto == expected)
        #expect(headers["Sec-WebSocket-Protocol"] == [expected])
        #expect(mode == (expected == "base64" ? .base64 : .binary))
    }

    @Test("a session backend's preference wins (a replay offers the recorded subprotocol first)")
    func subprotocolPreference() {
        let decision = HandshakeDecision.decide(
            request(protocols: ["binary", "base64"]), subprotocols: ["base64", "binary"])
        guard case .accept(_, let proto, let mode) = decision else {
            Issue.record("expected accept")
            return
        }
        #expect(proto == "base64" && mode == .base64)
    }

    @Test("only unknown subprotocols get 400 naming the supported ones")
    func unknownSubprotocol() {
        guard case .reject(let status, _, let message) = HandshakeDecision.decide(request(protocols: ["chat", "mqtt"]))
        else {
            Issue.record("expected reject")
            return
        }
        #expect(status == .badRequest)
        #expect(message.contains("binary") && message.contains("base64"))
    }
}

@Suite("Header block limit")
struct HeaderBlockLimitTests {
    @Test("a block ending within the limit is complete, even split across reads")
    func complete() {
        var limit = HeaderBlockLimit(limit: 64)
        #expect(limit.feed(Array("GET / HTTP/1.1\r\nHost: x\r".utf8)) == .withinLimit)
        #expect(limit.feed(Array("\n\r".utf8)) == .withinLimit)
        #expect(limit.feed(Array("\nrest".utf8)) == .complete(bytesUsed: 1))
    }

    @Test("empty lines before the request line are not an empty header block")
    func leadingEmptyLines() {
        var limit = HeaderBlockLimit(limit: 64)
        #expect(limit.feed(Array("\r\n\r\n".utf8)) == .withinLimit)
        #expect(limit.feed(Array("GET / HTTP/1.1\r\n\r\nX".utf8)) == .complete(bytesUsed: 18))
        var endless = HeaderBlockLimit(limit: 64)
        #expect(endless.feed([UInt8](repeating: 0x0A, count: 65)) == .exceeded)
    }

    @Test("a block longer than the limit is exceeded")
    func exceeded() {
        var limit = HeaderBlockLimit(limit: 16 << 10)
        let line = Array("X-Filler: \(String(repeating: "a", count: 1000))\r\n".utf8)
        var verdict = HeaderBlockLimit.Verdict.withinLimit
        for _ in 0..<17 where verdict == .withinLimit { verdict = limit.feed(line) }
        #expect(verdict == .exceeded)
    }
}
