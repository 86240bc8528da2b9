import CoreMetrics

/// wsreplay's own series beside the proxy's (`--metrics-listen`; docs/proxy.md, "Metrics"): how
/// the replayed sessions went, and their divergences by kind.
public final class ReplayMetrics: Sendable {
    private let matched: Counter
    private let diverged: Counter
    private let divergences: [Divergence.Kind: Counter]

    public enum Label {
        public static let sessions = "wsreplay_sessions_total"
        public static let divergences = "wsreplay_divergences_total"
    }

    /// Each series' `# HELP` text, by name.
    public static let help: [String: String] = [
        Label.sessions: "Replayed sessions, by whether the client did what the recording says.",
        Label.divergences: "Divergences from the recording found in replayed sessions, by kind.",
    ]

    public init(factory: any MetricsFactory) {
        matched = Counter(label: Label.sessions, dimensions: [("result", "matched")], factory: factory)
        diverged = Counter(label: Label.sessions, dimensions: [("result", "diverged")], factory: factory)
        divergences = Dictionary(
            uniqueKeysWithValues: Divergence.Kind.allCases.map {
                ($0, Counter(label: Label.divergences, dimensions: [("kind", $0.rawValue)], factory: factory))
            })
    }

    /// One replayed session ended with `result`.
    func ended(_ result: SessionResult) {
        (result.divergences.isEmpty ? matched : diverged).increment()
        for divergence in result.divergences { divergences[divergence.kind]?.increment() }
    }
}
