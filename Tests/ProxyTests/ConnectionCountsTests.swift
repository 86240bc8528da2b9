import Testing

@testable import Proxy

/// The counting behind `--max-connections` and `--max-connections-per-ip`: both limits, which one
/// is reported, release, and who counts as one client.
@Suite("Connection counts")
struct ConnectionCountsTests {
    typealias Client = ConnectionCounts.Client

    let alice = Client(clientAddress: "198.51.100.1:40000")
    let bob = Client(clientAddress: "198.51.100.2:40000")

    @Test("the total limit: N fit, the next is refused until one is removed")
    func total() {
        var counts = ConnectionCounts(total: 3, perClient: nil)
        for client in [alice, bob, alice] { #expect(counts.add(client) == nil) }
        #expect(counts.add(bob) == .total(limit: 3))
        #expect(counts.count == 3, "a refused connection is not counted")
        counts.remove(alice)
        #expect(counts.add(bob) == nil)
        #expect(counts.count == 3)
        #expect(counts.count(of: alice) == 1)
        #expect(counts.count(of: bob) == 2)
    }

    @Test("the per-client limit applies to each client apart; the total is reported first")
    func perClient() {
        var counts = ConnectionCounts(total: 3, perClient: 2)
        #expect(counts.add(alice) == nil)
        #expect(counts.add(alice) == nil)
        #expect(counts.add(alice) == .perClient(limit: 2))
        #expect(counts.add(bob) == nil)
        #expect(counts.add(bob) == .total(limit: 3))
        counts.remove(alice)
        counts.remove(alice)
        #expect(counts.clients == 1, "a client with nothing open is forgotten")
        #expect(counts.add(alice) == nil)
    }

    @Test("no limits: everything is counted and admitted")
    func unlimited() {
        var counts = ConnectionCounts(total: nil, perClient: nil)
        for _ in 0..<1000 { #expect(counts.add(alice) == nil) }
        #expect(counts.count == 1000)
    }

    @Test("a client is its address without the port; IPv6 whole; IPv4-mapped as IPv4; unix peers together")
    func clientKeys() throws {
        #expect(Client(clientAddress: "198.51.100.1:1") == Client(clientAddress: "198.51.100.1:2"))
        #expect(Client(clientAddress: "198.51.100.1") == Client(clientAddress: "198.51.100.1:2"))
        #expect(Client(clientAddress: "[2001:db8::1]:1") == Client(clientAddress: "[2001:db8:0::1]"))
        #expect(
            Client(clientAddress: "[2001:db8::1]:1") != Client(clientAddress: "[2001:db8::2]:1"),
            "two addresses of one /64 are two clients")
        #expect(Client(clientAddress: "[::ffff:198.51.100.1]:5") == Client(clientAddress: "198.51.100.1:7"))
        #expect(Client(clientAddress: "unix:/run/a.sock") == .local)
        #expect(Client(clientAddress: "unix:/run/b.sock") == .local)
        let ip = try #require(IPAddress("2001:db8::1"))
        #expect(Client(clientAddress: "[2001:db8::1]:443") == .ip(ip))
        #expect(Client(clientAddress: "?") == .other("?"))
    }
}
