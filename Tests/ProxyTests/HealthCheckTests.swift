import Logging
import NIOHTTP1
import Testing

@testable import Proxy

/// The health path's decision, without a channel: which requests it takes and what each phase answers.
@Suite("Health path: which requests, which answer")
struct HealthCheckTests {
    func head(_ method: HTTPMethod = .GET, _ uri: String, version: HTTPVersion = .http1_1, close: Bool = false)
        -> HTTPRequestHead
    {
        var head = HTTPRequestHead(version: version, method: method, uri: uri)
        if close { head.headers.add(name: "Connection", value: "close") }
        return head
    }

    @Test(
        "exactly the path, any query or method; not a prefix, not another spelling",
        arguments: [
            ("/healthz", true), ("/healthz?probe=1", true), ("/healthz?", true), ("/healthz#x", true),
            ("/healthz/", false), ("/healthz2", false), ("/Healthz", false), ("/", false), ("/health", false),
            ("/%68ealthz", false), ("//healthz", false), ("/vnc.html", false), ("healthz", false),
            ("http://lb/healthz", true), ("HTTPS://lb:6080/healthz?x", true), ("http://lb/other", false),
            ("http://lb", false), ("http://lb?x", false), ("ftp://lb/healthz", false),
        ])
    func matching(uri: String, expected: Bool) throws {
        let check = try HealthCheck(path: "/healthz")
        #expect(check.matches(head(.GET, uri), isWebSocketUpgrade: false) == expected)
        #expect(check.matches(head(.DELETE, uri), isWebSocketUpgrade: false) == expected)
    }

    @Test("a WebSocket upgrade is never a health check, whatever its path")
    func upgradeIsNotHealth() throws {
        let check = try HealthCheck(path: "/healthz")
        #expect(!check.matches(head(.GET, "/healthz"), isWebSocketUpgrade: true))
        #expect(try HealthCheck(path: "/").matches(head(.GET, "/?token=a"), isWebSocketUpgrade: false))
        #expect(try !HealthCheck(path: "/").matches(head(.GET, "/?token=a"), isWebSocketUpgrade: true))
    }

    @Test("GET and HEAD: 200 while accepting, kept alive; 503 from draining on, closed")
    func answersByPhase() throws {
        let check = try HealthCheck(path: "/healthz")
        for method in [HTTPMethod.GET, .HEAD] {
            let ok = check.answer(to: head(method, "/healthz"), in: .accepting)
            #expect(ok.status == .ok)
            #expect(ok.keepAlive)
            #expect(ok.headers["Content-Length"] == ["\(ok.body.utf8.count)"])
            #expect(ok.headers["Cache-Control"] == ["no-store"])
            #expect(ok.headers["Connection"].isEmpty)
            for phase in [ServingPhase.draining, .closed] {
                let draining = check.answer(to: head(method, "/healthz"), in: phase)
                #expect(draining.status == .serviceUnavailable)
                #expect(!draining.keepAlive)
                #expect(draining.headers["Connection"] == ["close"])
                #expect(draining.headers["Content-Length"] == ["\(draining.body.utf8.count)"])
            }
        }
    }

    @Test("other methods get 405 with Allow, in every phase")
    func otherMethods() throws {
        let check = try HealthCheck(path: "/healthz")
        for phase in [ServingPhase.accepting, .draining] {
            let answer = check.answer(to: head(.DELETE, "/healthz"), in: phase)
            #expect(answer.status == .methodNotAllowed)
            #expect(answer.headers["Allow"] == ["GET, HEAD"])
            #expect(!answer.keepAlive)
        }
    }

    @Test("keep-alive follows the request: HTTP/1.1 unless 'Connection: close', HTTP/1.0 only when asked")
    func keepAlive() throws {
        let check = try HealthCheck(path: "/healthz")
        #expect(!check.answer(to: head(.GET, "/healthz", close: true), in: .accepting).keepAlive)
        let old = check.answer(to: head(.GET, "/healthz", version: .http1_0), in: .accepting)
        #expect(!old.keepAlive)
        #expect(old.headers["Connection"] == ["close"])
        var asked = head(.GET, "/healthz", version: .http1_0)
        asked.headers.add(name: "Connection", value: "keep-alive")
        let kept = check.answer(to: asked, in: .accepting)
        #expect(kept.keepAlive)
        #expect(kept.headers["Connection"] == ["keep-alive"])
    }

    @Test(
        "a path that can't be requested is refused at start, naming why",
        arguments: [
            ("healthz", "starting with '/'"), ("", "starting with '/'"), ("/healthz?x=1", "'?'"), ("/a#b", "'#'"),
            ("/a b", "spaces"), ("/caf\u{E9}", "non-ASCII"), ("/a\u{7F}", "control"),
        ])
    func invalidPaths(path: String, why: String) {
        #expect {
            try HealthCheck(path: path)
        } throws: { error in
            let message = (error as? ProxyError)?.message ?? ""
            return message.hasPrefix("--health-path=\(path):") && message.contains(why)
        }
    }

    @Test("phases only move forward")
    func phasesMoveForward() {
        let server = ServerContext(
            configuration: ProxyConfiguration(listenPort: 0, upstream: .fixed(.unixSocket(path: "/nowhere"))),
            logger: .init(label: "test"), onSessionEnded: { _ in })
        #expect(server.phase == .accepting && !server.acceptingStopped)
        #expect(server.enter(.draining))
        #expect(server.phase == .draining && !server.acceptingStopped)
        #expect(!server.enter(.accepting))
        #expect(!server.enter(.draining))
        server.stopAccepting()
        #expect(server.phase == .closed && server.acceptingStopped)
        #expect(!server.enter(.draining))
        #expect(server.phase == .closed)
    }
}
