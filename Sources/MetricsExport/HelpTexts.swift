import NIOConcurrencyHelpers

/// The `# HELP` text of each series by name. A name's text is fixed the first time a series of
/// that name is made (the registry refuses two texts for one name), so a description given later
/// changes nothing rather than clashing.
final class HelpTexts: Sendable {
    private struct State {
        var described: [String: String] = [:]
        var used: [String: String] = [:]
    }

    private let state = NIOLockedValueBox(State())

    func describe(_ texts: [String: String]) {
        state.withLockedValue { $0.described.merge(texts) { first, _ in first } }
    }

    func text(for name: String) -> String {
        state.withLockedValue { state in
            if let text = state.used[name] { return text }
            let text = state.described[name] ?? ""
            state.used[name] = text
            return text
        }
    }
}
