import CoreMetrics
import RecordFormat

/// One permessage-deflate session's part in the metrics: for the messages that went compressed,
/// their application bytes (before deflating, after inflating) and their bytes on the wire, per
/// direction. The saving is the difference; messages sent uncompressed are in neither.
///
/// Counted in plain integers on the session's event loop and added to the shared counters once
/// ``flushThreshold`` bytes are pending and when the session ends, not once per message.
final class CompressionMeter {
    /// The series' names (docs/proxy.md, "Metrics").
    enum Label {
        static let payloadBytes = "websockify_compression_payload_bytes_total"
        static let wireBytes = "websockify_compression_wire_bytes_total"
    }

    static let help: [String: String] = [
        Label.payloadBytes: "Application bytes of permessage-deflate compressed messages, by direction.",
        Label.wireBytes: "Bytes on the wire of those compressed messages, by direction.",
    ]

    static let flushThreshold = 1 << 20

    private let payload: [Direction: Counter]
    private let wire: [Direction: Counter]
    private var pendingPayload: [Direction: Int] = [:]
    private var pendingWire: [Direction: Int] = [:]
    private var pending = 0

    init(metrics: ProxyMetrics) {
        func series(_ label: String) -> [Direction: Counter] {
            Dictionary(
                uniqueKeysWithValues: Direction.allCases.map {
                    ($0, Counter(label: label, dimensions: [("direction", ProxyMetrics.name(of: $0))], factory: metrics.factory))
                })
        }
        payload = series(Label.payloadBytes)
        wire = series(Label.wireBytes)
    }

    /// A compressed message of `payloadBytes` application bytes took `wireBytes` on the wire.
    func count(_ direction: Direction, payloadBytes: Int, wireBytes: Int) {
        pendingPayload[direction, default: 0] += payloadBytes
        pendingWire[direction, default: 0] += wireBytes
        pending += payloadBytes
        if pending >= Self.flushThreshold { flush() }
    }

    /// Adds what is pending to the shared counters.
    func flush() {
        for (direction, bytes) in pendingPayload where bytes > 0 { payload[direction]?.increment(by: bytes) }
        for (direction, bytes) in pendingWire where bytes > 0 { wire[direction]?.increment(by: bytes) }
        pendingPayload = [:]
        pendingWire = [:]
        pending = 0
    }
}
