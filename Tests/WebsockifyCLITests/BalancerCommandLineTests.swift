import ArgumentParser
import Proxy
import Testing

@testable import WebsockifyCLI

@Suite("Command line: --proxy-protocol, --trust-proxy, --forwarded-header")
struct BalancerCommandLineTests {
    func balancer(_ arguments: [String]) throws -> BalancerSettings {
        try Websockify.parse(arguments + ["6080", "h:1"]).makeConfiguration().balancer
    }

    @Test("all off by default: no header is believed")
    func defaults() throws {
        #expect(try balancer([]) == BalancerSettings())
        #expect(BalancerSettings().summary == nil)
    }

    @Test("--proxy-protocol; --trust-proxy repeatable and comma-separated, IPv4, IPv6, addresses and unix")
    func options() throws {
        let settings = try balancer([
            "--proxy-protocol", "--trust-proxy", "10.0.0.0/8,192.0.2.7", "--trust-proxy=2001:db8::/32",
            "--trust-proxy", "unix", "--trust-proxy", "10.0.0.0/8", "--forwarded-header=Forwarded",
        ])
        #expect(settings.proxyProtocol)
        #expect(settings.trustedProxies.map(\.description) == ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "unix"])
        #expect(settings.forwardedHeader == .forwarded)
        #expect(
            settings.summary
                == "behind a balancer: every connection must start with a PROXY protocol header (--proxy-protocol); "
                + "the client is taken from Forwarded when the peer is one of 10.0.0.0/8, 192.0.2.7/32, 2001:db8::/32, unix (--trust-proxy)")
        #expect(try balancer(["--trust-proxy", "127.0.0.1/32"]).forwardedHeader == .xForwardedFor)
    }

    @Test(
        "unusable values are usage errors naming the option",
        arguments: [
            (["--trust-proxy", "10.0.0.0/33"], "--trust-proxy 10.0.0.0/33:"),
            (["--trust-proxy", "example.com"], "--trust-proxy example.com:"),
            (["--trust-proxy", ","], "--trust-proxy: needs a network"),
            (["--forwarded-header", "x-real-ip", "--trust-proxy", "10.0.0.0/8"], "--forwarded-header=x-real-ip:"),
            (["--forwarded-header", "forwarded"], "--forwarded-header: needs --trust-proxy"),
        ])
    func invalid(arguments: [String], message: String) {
        #expect {
            try Websockify.parse(arguments + ["6080", "h:1"])
        } throws: { error in
            "\(Websockify.message(for: error))".contains(message)
        }
    }
}
