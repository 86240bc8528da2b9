import NIOCore
import NIOPosix
import Proxy
import Testing

@Suite("socketErrorText: why a socket call failed, in words")
struct SocketErrorTextTests {
    /// A loopback port nothing listens on (bound, then closed).
    private func closedPort() throws -> Int {
        let group = MultiThreadedEventLoopGroup.singleton
        let channel = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
        let port = try #require(channel.localAddress?.port)
        try channel.close().wait()
        return port
    }

    private func connectError(host: String, port: Int) throws -> any Error {
        let result = Result {
            try ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: host, port: port).wait()
        }
        if case .success(let channel) = result { try channel.close().wait() }
        guard case .failure(let error) = result else {
            Issue.record("connected to \(host):\(port), expected a refusal")
            throw ChannelError.alreadyClosed
        }
        return error
    }

    @Test("a refused connect to one address: the reason only, none of NIO's error dump")
    func refusedOneAddress() throws {
        let error = try connectError(host: "127.0.0.1", port: closedPort())
        #expect(socketErrorText(error) == "connection refused")
    }

    @Test("a name that does not resolve says so")
    func unresolvable() throws {
        let error = try connectError(host: "no-such-host.invalid", port: 5900)
        #expect(socketErrorText(error) == "cannot resolve no-such-host.invalid")
    }

    @Test("an IOError is its errno in words; a connect timeout names the limit")
    func ioErrorAndTimeout() {
        #expect(socketErrorText(IOError(errnoCode: 98, reason: "bind(descriptor:ptr:bytes:)")) == "address already in use")
        #expect(socketErrorText(ChannelError.connectTimeout(.milliseconds(300))) == "no answer within 300 ms")
    }
}
