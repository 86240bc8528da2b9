/// How many connections are counted against `--max-connections` (all of them) and
/// `--max-connections-per-ip` (those of one client), and whether one more fits. Pure: the
/// ``ConnectionLimiter`` around it holds the lock and ties each slot to its connection's life.
///
/// A client is its IP address, whole (not its /64 for IPv6): what nginx's `limit_conn` keyed on the
/// client address and HAProxy's `src` tracking count, so their users' numbers mean the same here.
/// An IPv4-mapped IPv6 address counts as the IPv4 address it maps (``IPAddress``).
struct ConnectionCounts: Sendable, Equatable {
    /// Whom a connection is counted for (per client).
    enum Client: Hashable, Sendable, CustomStringConvertible {
        /// An IPv4 or IPv6 client.
        case ip(IPAddress)
        /// Clients of a unix-socket listener with no PROXY header naming them: one client, the host.
        case local
        /// An address that names no IP (never expected; counted together rather than not at all).
        case other(String)

        /// The client of an address as ``ClientAddresses/client`` writes it: `192.0.2.1:5678`,
        /// `[2001:db8::1]:5678`, either without its port, or `unix:PATH`.
        init(clientAddress text: String) {
            if text.hasPrefix("unix:") {
                self = .local
                return
            }
            var host = Substring(text)
            if host.hasPrefix("["), let end = host.firstIndex(of: "]") {
                host = host[host.index(after: host.startIndex)..<end]
            } else if let colon = host.firstIndex(of: ":"), host[host.index(after: colon)...].allSatisfy(\.isNumber) {
                host = host[..<colon]
            }
            self = IPAddress(host).map(Client.ip) ?? .other(text)
        }

        var description: String {
            switch self {
            case .ip(let address): "\(address)"
            case .local: "local (unix socket)"
            case .other(let text): text
            }
        }
    }

    /// Which limit a connection did not fit under.
    enum Exceeded: Sendable, Equatable {
        /// `--max-connections`.
        case total(limit: Int)
        /// `--max-connections-per-ip`.
        case perClient(limit: Int)
    }

    /// The most connections in all; nil: no limit.
    let total: Int?
    /// The most connections of one client; nil: no limit.
    let perClient: Int?
    private(set) var count = 0
    private var byClient: [Client: Int] = [:]

    init(total: Int?, perClient: Int?) {
        self.total = total
        self.perClient = perClient
    }

    /// Counts one more connection of `client` if it fits under both limits; else counts nothing
    /// and says which limit it hit (the total first: it is the one that protects the host).
    mutating func add(_ client: Client) -> Exceeded? {
        if let total, count >= total { return .total(limit: total) }
        let mine = byClient[client, default: 0]
        if let perClient, mine >= perClient { return .perClient(limit: perClient) }
        count += 1
        byClient[client] = mine + 1
        return nil
    }

    /// A connection of `client` counted by ``add(_:)`` closed.
    mutating func remove(_ client: Client) {
        guard let mine = byClient[client], mine > 0 else {
            assertionFailure("removing a connection of \(client) that was not counted")
            return
        }
        count -= 1
        byClient[client] = mine == 1 ? nil : mine - 1
    }

    /// Connections counted for `client`.
    func count(of client: Client) -> Int { byClient[client, default: 0] }

    /// How many clients have a connection counted (what the per-client table holds).
    var clients: Int { byClient.count }
}
