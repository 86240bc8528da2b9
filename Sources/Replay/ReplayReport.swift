import Foundation
import RecordFormat

/// The outcome of a `wsreplay` run: every session played, divergences, pacing, and the exit code.
public struct ReplayReport: Sendable, Equatable {
    /// Nearest-rank percentiles of lateness, in milliseconds.
    public struct Lateness: Sendable, Equatable, Codable {
        public var frames: Int
        public var p50Millis: Double
        public var p99Millis: Double
        public var maxMillis: Double

        /// Statistics of `samples` (nanoseconds); nil when there are none.
        public init?(nanos samples: [UInt64]) {
            guard !samples.isEmpty else { return nil }
            let sorted = samples.sorted()
            func rank(_ p: Double) -> Double {
                let index = max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1)
                return Double(sorted[min(index, sorted.count - 1)]) / 1e6
            }
            frames = sorted.count
            p50Millis = rank(0.50)
            p99Millis = rank(0.99)
            maxMillis = Double(sorted.last!) / 1e6
        }
    }

    public var file: String
    public var format: String
    /// Damage found in the recording (truncated tail, corrupt blocks): played up to the last good block.
    public var damages: [String]
    /// Records whose time is out of range (docs/record-format.md §4.3), one per session: played
    /// right after the record before them, without waiting.
    public var timeProblems: [String] = []
    /// Records the writer lost (gap blocks), one line per session: played around them. They do
    /// not change the exit code, which stays the result of the replay.
    public var gaps: [String] = []
    /// A fatal error reading or serving (exit 2), if any.
    public var error: String?
    /// The RFB rules in force that differ from the defaults (`allow (superset) SetEncodings`, …).
    public var rules: [String] = []
    public var sessions: [SessionResult]

    public init(
        file: String, format: String, damages: [String] = [], error: String? = nil, sessions: [SessionResult] = []
    ) {
        self.file = file
        self.format = format
        self.damages = damages
        self.error = error
        self.sessions = sessions
    }

    public var divergences: [Divergence] { sessions.flatMap(\.divergences) }
    public var lateness: Lateness? { Lateness(nanos: sessions.flatMap(\.latenessNanos)) }

    /// 0 everything matched, 1 a divergence or no client at all, 2 usage or I/O error, 3 the
    /// recording is damaged.
    public var exitCode: Int32 {
        if error != nil { return 2 }
        if !damages.isEmpty || !timeProblems.isEmpty { return 3 }
        if !divergences.isEmpty || noClient { return 1 }
        return 0
    }

    /// The replay was served and ended before any client connected: nothing was checked, which a
    /// regression test must not take for a pass (set by the server when it stops).
    public var noClient = false

    /// The human summary for stderr.
    public func summary() -> String {
        var lines: [String] = []
        lines.append("wsreplay: \(file) (\(format)): \(sessions.count) session(s) played")
        for damage in damages { lines.append("recording damaged: \(damage); played up to the last good block") }
        for problem in timeProblems { lines.append("recording: \(problem); played without waiting for it") }
        for gap in gaps { lines.append("recording gap: \(gap); played around it") }
        if !rules.isEmpty { lines.append("rules: " + rules.joined(separator: "; ")) }
        if let error { lines.append("error: \(error)") }
        for s in sessions {
            lines.append(
                "session \(s.session)\(s.rfb ? " (RFB)" : ""): sent \(s.framesSent)/\(s.recordedTargetFrames) frames, \(s.bytesSent)/\(s.recordedTargetBytes) bytes; received \(s.framesReceived) frames, \(s.bytesReceived) bytes (\(s.recordedClientBytes) recorded); client matched \(s.matchedClientUnits)/\(s.expectedClientUnits) \(s.rfb ? "messages" : "frames"); \(s.divergences.isEmpty ? "no divergence" : "\(s.divergences.count) divergence(s)")"
                    + (s.rfb
                        ? "; client messages checked \(s.checkedClientMessages): \(s.sameClientMessages) same, \(s.allowedClientMessages) allowed, \(s.freeClientMessages) free"
                        : "")
            )
            for d in s.divergences {
                lines.append("  divergence (\(d.change?.rawValue ?? d.kind.rawValue), \(d.stream) stream): \(d.message)")
                let recordedAt = d.recordedTimeMicros.map { String(format: "%.3f s", Double($0) / 1e6) } ?? "-"
                let actualAt = d.actualTimeMicros.map { String(format: "%.3f s", Double($0) / 1e6) } ?? "-"
                if let message = d.recordedMessage {
                    lines.append("    recorded: client message #\(d.clientMessage.map(String.init) ?? "-") \(message)")
                }
                if let message = d.actualMessage { lines.append("    actual:   \(message)") }
                lines.append(
                    "    recorded: offset \(d.recordedOffset.map(String.init) ?? "-"), record #\(d.recordIndex.map(String.init) ?? "-"), at \(recordedAt): \(d.recordedHex.isEmpty ? "(nothing)" : d.recordedHex)"
                )
                lines.append(
                    "    actual:   offset \(d.actualOffset.map(String.init) ?? "-"), at \(actualAt): \(d.actualHex.isEmpty ? "(nothing)" : d.actualHex)"
                )
            }
            for note in s.notes { lines.append("  note: \(note)") }
        }
        if let l = lateness {
            lines.append(
                String(
                    format: "pacing lateness over %d frames: p50 %.3f ms, p99 %.3f ms, max %.3f ms", l.frames,
                    l.p50Millis,
                    l.p99Millis, l.maxMillis))
        }
        let verdict: String
        switch exitCode {
        case 0: verdict = "result: the client matched the recording"
        case 1:
            verdict =
                noClient
                ? "result: no client connected, nothing was checked" : "result: \(divergences.count) divergence(s)"
        case 3:
            verdict =
                damages.isEmpty
                ? "result: the recording has records whose time is out of range" : "result: the recording is truncated or corrupt"
        default: verdict = "result: error"
        }
        lines.append(verdict)
        return lines.joined(separator: "\n")
    }

    private struct JSONSession: Codable {
        var session: UInt32
        var rfb: Bool
        var framesSent: Int
        var bytesSent: UInt64
        var framesReceived: Int
        var bytesReceived: UInt64
        var recordedTargetFrames: Int
        var recordedTargetBytes: UInt64
        var recordedClientBytes: UInt64
        var expectedClientUnits: Int
        var matchedClientUnits: Int
        var freeClientMessages: Int
        var checkedClientMessages: Int
        var sameClientMessages: Int
        var allowedClientMessages: Int
        var heldBackFrames: Int
        var closedByClient: Bool
        var closeCode: UInt16?
        var durationSeconds: Double
        var lateness: Lateness?
        var divergences: [Divergence]
        var notes: [String]
    }

    private struct JSONReport: Codable {
        var file: String
        var format: String
        var exitCode: Int32
        var damages: [String]
        var timeProblems: [String]
        var gaps: [String]
        var rules: [String]
        var error: String?
        var sessionsPlayed: Int
        var framesSent: Int
        var bytesSent: UInt64
        var framesReceived: Int
        var bytesReceived: UInt64
        var lateness: Lateness?
        var divergences: [Divergence]
        var sessions: [JSONSession]
    }

    /// The `--report` JSON document.
    public func json() throws -> String {
        let report = JSONReport(
            file: file, format: format, exitCode: exitCode, damages: damages, timeProblems: timeProblems, gaps: gaps, rules: rules, error: error,
            sessionsPlayed: sessions.count, framesSent: sessions.reduce(0) { $0 + $1.framesSent },
            bytesSent: sessions.reduce(0) { $0 + $1.bytesSent },
            framesReceived: sessions.reduce(0) { $0 + $1.framesReceived },
            bytesReceived: sessions.reduce(0) { $0 + $1.bytesReceived }, lateness: lateness, divergences: divergences,
            sessions: sessions.map {
                JSONSession(
                    session: $0.session, rfb: $0.rfb, framesSent: $0.framesSent, bytesSent: $0.bytesSent,
                    framesReceived: $0.framesReceived, bytesReceived: $0.bytesReceived,
                    recordedTargetFrames: $0.recordedTargetFrames, recordedTargetBytes: $0.recordedTargetBytes,
                    recordedClientBytes: $0.recordedClientBytes, expectedClientUnits: $0.expectedClientUnits,
                    matchedClientUnits: $0.matchedClientUnits, freeClientMessages: $0.freeClientMessages,
                    checkedClientMessages: $0.checkedClientMessages, sameClientMessages: $0.sameClientMessages,
                    allowedClientMessages: $0.allowedClientMessages, heldBackFrames: $0.heldBackFrames,
                    closedByClient: $0.closedByClient, closeCode: $0.closeCode,
                    durationSeconds: Double($0.durationMicros) / 1e6, lateness: Lateness(nanos: $0.latenessNanos),
                    divergences: $0.divergences, notes: $0.notes)
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
    }
}
