import Foundation
import RFB
import Yams

/// Rules from the command line (`--allow NAME[:MODE]`, `--ignore NAME`) and from a rules file
/// (JSON or YAML; YAML 1.2 reads JSON too, so one decoder serves both). The same options in
/// `wsreplay` and `wsrecord-inspect diff` go through here.
extension RFBRuleSet {
    /// Every message name a rule may use: the client messages a comparison looks at, and the
    /// server messages a server-side comparison may use.
    public static let messageNames: [String] = [
        "ProtocolVersion", "SecurityChoice", "VNCAuthResponse", "ClientInit", "SetPixelFormat", "SetEncodings",
        "FramebufferUpdateRequest", "KeyEvent", "PointerEvent", "ClientCutText", "EnableContinuousUpdates",
        "ClientFence", "SetDesktopSize", "QEMUExtendedKeyEvent", "QEMUAudio", "xvp",
        "SecurityTypes", "SecurityType", "SecurityFailure", "VNCAuthChallenge", "SecurityResult", "ServerInit",
        "FramebufferUpdate", "SetColourMapEntries", "Bell", "ServerCutText", "EndOfContinuousUpdates",
        "ServerFence",
    ]

    /// The defaults, then each `allow` (`SetEncodings`, `SetEncodings:superset`) and `ignore`
    /// (`PointerEvent`) option in order, then the rules file, whose entries win.
    public static func parse(allow: [String] = [], ignore: [String] = [], rulesFile: String? = nil) throws(RFBRuleError)
        -> RFBRuleSet
    {
        var rules = RFBRuleSet()
        for option in allow { try rules.apply(allow: option, source: "--allow") }
        for option in ignore { try rules.apply(ignore: option, source: "--ignore") }
        if let rulesFile { try rules.apply(file: rulesFile) }
        return rules
    }

    /// Adds `allow NAME[:MODE]`.
    public mutating func apply(allow option: String, source: String) throws(RFBRuleError) {
        let (name, mode) = try Self.allowTreatment(option, source: source)
        set(name, mode)
    }

    /// Adds `ignore NAME`.
    public mutating func apply(ignore option: String, source: String) throws(RFBRuleError) {
        set(try Self.messageName(option, source: source), .ignore)
    }

    /// Reads a rules file (see docs/wsreplay.md, "Rules"): keys `allow`, `ignore`, `check` (lists
    /// of names) and `messages` (a list of `{index, rule, session?}`).
    public mutating func apply(file path: String) throws(RFBRuleError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw RFBRuleError("cannot read the rules file \(path): \(error.localizedDescription)")
        }
        try apply(text: text, source: path)
    }

    /// Reads the text of a rules file; `source` names it in errors.
    public mutating func apply(text: String, source: String) throws(RFBRuleError) {
        let file: RFBRuleFile
        do {
            file = try YAMLDecoder().decode(RFBRuleFile.self, from: text)
        } catch let error as DecodingError {
            throw RFBRuleError("\(source): \(Self.explain(error))")
        } catch {
            throw RFBRuleError("\(source): not JSON or YAML: \(error)")
        }
        for option in file.allow ?? [] { try apply(allow: option, source: "\(source): allow") }
        for option in file.ignore ?? [] { try apply(ignore: option, source: "\(source): ignore") }
        for option in file.check ?? [] { set(try Self.messageName(option, source: "\(source): check"), .check) }
        for (position, entry) in (file.messages ?? []).enumerated() {
            let place = "\(source): messages[\(position)]"
            guard entry.index >= 0 else { throw RFBRuleError("\(place): index must be 0 or more, not \(entry.index)") }
            let treatment: Treatment
            switch entry.rule {
            case "check": treatment = .check
            case "ignore": treatment = .ignore
            case "allow": treatment = .allow(.any)
            case "allow:superset": treatment = .allow(.superset)
            default:
                throw RFBRuleError("\(place): rule must be check, allow, allow:superset or ignore, not '\(entry.rule)'")
            }
            add(Exception(index: entry.index, treatment: treatment, session: entry.session))
        }
    }

    /// `NAME` or `NAME:MODE` of an allow option.
    static func allowTreatment(_ option: String, source: String) throws(RFBRuleError) -> (String, Treatment) {
        let parts = option.split(separator: ":", maxSplits: 1).map(String.init)
        let name = try messageName(parts.first ?? "", source: source)
        guard parts.count == 2 else { return (name, .allow(.any)) }
        guard let mode = AllowMode(rawValue: parts[1].lowercased()) else {
            throw RFBRuleError(
                "\(source) \(option): unknown mode '\(parts[1])' (modes: "
                    + AllowMode.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        if mode == .superset && name != "SetEncodings" {
            throw RFBRuleError("\(source) \(option): the superset mode is for SetEncodings only")
        }
        return (name, .allow(mode))
    }

    /// The message name as spelled in ``messageNames`` (case does not matter).
    static func messageName(_ text: String, source: String) throws(RFBRuleError) -> String {
        let wanted = text.trimmingCharacters(in: .whitespaces)
        if let name = messageNames.first(where: { $0.caseInsensitiveCompare(wanted) == .orderedSame }) { return name }
        throw RFBRuleError(
            "\(source) \(text): not an RFB message name (names: " + messageNames.joined(separator: ", ") + ")")
    }

    private static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "" : " at \(keys.hasPrefix(".") ? String(keys.dropFirst()) : keys)"
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type\(path(context)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "missing key '\(key.stringValue)'\(path(context))"
        case .dataCorrupted(let context):
            return "not a valid rules file\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
