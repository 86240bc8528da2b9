import RecordFormat

/// The lines a session logs when it opens and when it closes (one place for their wording, which
/// operators grep for).
enum SessionLogLine {
    /// `backend`: a session backend drives the session instead of a target connection.
    static func opened(session id: UInt64, _ info: WebSocketSessionHandler.Info, backend: Bool) -> String {
        let source = backend ? "" : " -> target \(info.targetName)"
        let drivenBy = backend ? ", driven by a session backend" : ""
        let via = info.viaAddress.map { " (via \($0))" } ?? ""
        return
            "session \(id) open: client \(info.clientAddress)\(via)\(source), path \(info.requestPath), protocol \(info.subprotocol ?? "none")\(drivenBy)"
    }

    static func closed(
        session id: UInt64, _ info: WebSocketSessionHandler.Info, _ close: SessionClose, elapsedNanoseconds: Int64
    ) -> String {
        let c2t = close.clientToTarget
        let t2c = close.targetToClient
        return
            "session \(id) closed by \(close.closedBy.name), code \(close.code.map(String.init) ?? "none"): client \(info.clientAddress), target \(info.targetName), \(seconds(elapsedNanoseconds)) s, client->target \(c2t.bytes) bytes in \(c2t.frames) frames, target->client \(t2c.bytes) bytes in \(t2c.frames) frames"
    }

    /// `1.234`: seconds with milliseconds, cut (not rounded).
    static func seconds(_ nanoseconds: Int64) -> String {
        let millis = max(nanoseconds, 0) / 1_000_000
        let fraction = String(millis % 1000)
        return "\(millis / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
