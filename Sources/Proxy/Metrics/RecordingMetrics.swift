import CoreMetrics
import NIOConcurrencyHelpers
import RecordFormat

/// The recording's series, read from its ``BackgroundRecorder/statistics`` at each scrape (the
/// recorder counts under the lock it takes anyway; nothing is added to a session's path).
public final class RecordingMetrics: Sendable {
    private let queuedRecords: Gauge
    private let queuedBytes: Gauge
    private let bytesWritten: Counter
    private let recordsDropped: Counter
    private let gaps: Counter
    /// The recorders watched, with what their counters showed at the last scrape.
    private let watched = NIOLockedValueBox<[(recorder: BackgroundRecorder, seen: BackgroundRecorder.Statistics)]>([])

    public enum Label {
        public static let queuedRecords = "websockify_recording_queue_records"
        public static let queuedBytes = "websockify_recording_queue_bytes"
        public static let bytesWritten = "websockify_recording_written_bytes_total"
        public static let recordsDropped = "websockify_recording_dropped_records_total"
        public static let gaps = "websockify_recording_gaps_total"
    }

    /// Each series' `# HELP` text, by name.
    public static let help: [String: String] = [
        Label.queuedRecords: "Records waiting for the recorder's thread.",
        Label.queuedBytes: "Memory held by the records waiting for the recorder's thread.",
        Label.bytesWritten: "Bytes the recorder added to its files.",
        Label.recordsDropped: "Records the recorder could not keep (queue full, after it began closing, or no file for their session).",
        Label.gaps: "Gap blocks written, each telling what was lost.",
    ]

    public init(factory: any MetricsFactory) {
        queuedRecords = Gauge(label: Label.queuedRecords, factory: factory)
        queuedBytes = Gauge(label: Label.queuedBytes, factory: factory)
        bytesWritten = Counter(label: Label.bytesWritten, factory: factory)
        recordsDropped = Counter(label: Label.recordsDropped, factory: factory)
        gaps = Counter(label: Label.gaps, factory: factory)
        queuedRecords.record(0)
        queuedBytes.record(0)
    }

    /// Counts what `recorder` does from now on (one recorder serves a whole recording, rotated
    /// files and a file per session included).
    public func watch(_ recorder: BackgroundRecorder) {
        watched.withLockedValue { $0.append((recorder, recorder.statistics)) }
    }

    /// Sets the gauges and adds to the counters what the recorders did since the last call.
    public func update() {
        var queue = (records: 0, bytes: 0)
        var added = (written: UInt64(0), dropped: UInt64(0), gaps: 0)
        watched.withLockedValue { watched in
            for index in watched.indices {
                let now = watched[index].recorder.statistics
                let seen = watched[index].seen
                queue.records += now.queuedRecords
                queue.bytes += now.queuedBytes
                added.written += now.bytesWritten &- seen.bytesWritten
                added.dropped += now.recordsDropped &- seen.recordsDropped
                added.gaps += now.gapsWritten - seen.gapsWritten
                watched[index].seen = now
            }
        }
        queuedRecords.record(queue.records)
        queuedBytes.record(queue.bytes)
        if added.written > 0 { bytesWritten.increment(by: added.written) }
        if added.dropped > 0 { recordsDropped.increment(by: added.dropped) }
        if added.gaps > 0 { gaps.increment(by: added.gaps) }
    }
}
