import Proxy

/// The targets a token API gave lately, so that a client that reconnects (noVNC does at once after a
/// drop) does not ask the API again. Bounded: at most ``capacity`` tokens, each for ``ttl``
/// nanoseconds. Only targets are kept: an unknown token or an error asks again next time, so a token
/// made a moment ago works at once. Pure: time is passed in (nanoseconds of a monotonic clock).
struct TokenCache: Sendable {
    struct Entry: Sendable {
        var target: ProxyConfiguration.Target
        var expires: UInt64
    }

    /// How long a target is kept (10 s: a revoked token works that much longer, see docs/proxy.md).
    let ttl: UInt64
    /// Most tokens kept (1,024 short entries: well under a megabyte).
    let capacity: Int
    private(set) var entries: [String: Entry] = [:]

    init(ttl: UInt64 = 10_000_000_000, capacity: Int = 1024) {
        precondition(capacity > 0, "a cache holds at least one entry")
        self.ttl = ttl
        self.capacity = capacity
    }

    /// The target kept for `token`, if it has not expired at `now`.
    mutating func target(for token: String, now: UInt64) -> ProxyConfiguration.Target? {
        guard let entry = entries[token] else { return nil }
        guard now < entry.expires else {
            entries[token] = nil
            return nil
        }
        return entry.target
    }

    /// Keeps `target` for `token` until `now + ttl`. When full, expired entries go first, then the
    /// one that expires soonest (the oldest).
    mutating func store(_ target: ProxyConfiguration.Target, for token: String, now: UInt64) {
        if entries[token] == nil, entries.count >= capacity {
            entries = entries.filter { now < $0.value.expires }
            if entries.count >= capacity, let oldest = entries.min(by: { $0.value.expires < $1.value.expires }) {
                entries[oldest.key] = nil
            }
        }
        entries[token] = Entry(target: target, expires: now &+ ttl)
    }
}
