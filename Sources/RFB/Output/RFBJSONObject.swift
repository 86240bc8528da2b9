/// A JSON object built member by member, in order, rendered on one line. The RFB module has no
/// Foundation; this is all its JSON needs, and the order keeps the output stable.
public struct RFBJSONObject: Sendable, Hashable {
    /// Keys with their values already rendered as JSON.
    public private(set) var members: [Member] = []

    public struct Member: Sendable, Hashable {
        public var key: String
        public var json: String
    }

    public init() {}

    public mutating func add(_ key: String, json: String) { members.append(Member(key: key, json: json)) }
    public mutating func add(_ key: String, _ value: String) { add(key, json: Self.quoted(value)) }
    public mutating func add(_ key: String, _ value: Bool) { add(key, json: value ? "true" : "false") }
    public mutating func add<Number: BinaryInteger>(_ key: String, _ value: Number) { add(key, json: String(value)) }
    public mutating func add(_ key: String, _ value: RFBJSONObject) { add(key, json: value.rendered) }
    public mutating func add(_ key: String, strings: [String]) {
        add(key, json: "[" + strings.map(Self.quoted).joined(separator: ",") + "]")
    }
    public mutating func add<Number: BinaryInteger>(_ key: String, numbers: [Number]) {
        add(key, json: "[" + numbers.map { String($0) }.joined(separator: ",") + "]")
    }
    public mutating func add(_ key: String, objects: [RFBJSONObject]) {
        add(key, json: "[" + objects.map(\.rendered).joined(separator: ",") + "]")
    }

    /// Appends another object's members after these.
    public mutating func append(contentsOf other: RFBJSONObject) { members += other.members }

    /// `{"key":value,…}`.
    public var rendered: String {
        "{" + members.map { Self.quoted($0.key) + ":" + $0.json }.joined(separator: ",") + "}"
    }

    /// A JSON string literal (RFC 8259 §7): quotes, backslashes and controls escaped.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0..<0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
