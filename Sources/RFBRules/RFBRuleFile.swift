/// The rules file as written: JSON or YAML with these keys (unknown keys are refused so that a
/// misspelt rule is not silently dropped).
struct RFBRuleFile: Decodable {
    struct Message: Decodable {
        var index: Int
        var rule: String
        var session: UInt32?

        private enum CodingKeys: String, CodingKey, CaseIterable { case index, rule, session }

        init(from decoder: any Decoder) throws {
            try RFBRuleFile.refuseUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            index = try container.decode(Int.self, forKey: .index)
            rule = try container.decode(String.self, forKey: .rule)
            session = try container.decodeIfPresent(UInt32.self, forKey: .session)
        }
    }

    var allow: [String]?
    var ignore: [String]?
    var check: [String]?
    var messages: [Message]?

    private enum CodingKeys: String, CodingKey, CaseIterable { case allow, ignore, check, messages }

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        allow = try container.decodeIfPresent([String].self, forKey: .allow)
        ignore = try container.decodeIfPresent([String].self, forKey: .ignore)
        check = try container.decodeIfPresent([String].self, forKey: .check)
        messages = try container.decodeIfPresent([Message].self, forKey: .messages)
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func refuseUnknownKeys(_ decoder: any Decoder, known: [String]) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        if let unknown = container.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath + [unknown],
                    debugDescription: "unknown key '\(unknown.stringValue)' (keys: \(known.joined(separator: ", ")))"))
        }
    }
}
