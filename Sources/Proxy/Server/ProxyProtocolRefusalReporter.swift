/// Decides when a connection closed for a missing or invalid PROXY protocol header is logged at
/// info level, so that a misconfigured balancer (or a port scanner) gives one line a minute, not one
/// per connection; every refusal is still logged at debug level (`-v`). Pure: time comes in as
/// nanoseconds of a monotonic clock.
struct ProxyProtocolRefusalReporter: Sendable, Equatable {
    /// The least time between two info lines.
    let interval: UInt64
    private var lastReport: UInt64?
    /// Refusals since the last report, this one included.
    private var unreported = 0

    init(interval: UInt64 = 60_000_000_000) {
        self.interval = interval
    }

    /// A connection was refused at `now`: how many refusals an info line now covers (this one and
    /// those held back since the previous line), or nil to stay quiet.
    mutating func refused(at now: UInt64) -> Int? {
        unreported += 1
        if let last = lastReport, now &- last < interval { return nil }
        lastReport = now
        defer { unreported = 0 }
        return unreported
    }

    /// The info line for a report covering `count` refusals, the last of which is described.
    static func message(peer: String, why: String, count: Int) -> String {
        let held = count > 1 ? " (\(count - 1) more since the last such line)" : ""
        return
            "\(peer): connection closed: --proxy-protocol expects a PROXY protocol header first: \(why)\(held); further refusals within a minute are logged with -v only"
    }
}
