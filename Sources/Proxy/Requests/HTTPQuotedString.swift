/// Header values made of tokens and quoted strings (RFC 7230 §3.2.6), as `Forwarded` and
/// `Sec-WebSocket-Extensions` have them.
enum HTTPQuotedString {
    /// `text` split at `separator` where it is not inside a quoted string.
    static func split(_ text: Substring, at separator: Character) -> [Substring] {
        var parts: [Substring] = []
        var start = text.startIndex
        var quoted = false
        var escaped = false
        for index in text.indices {
            let character = text[index]
            if escaped {
                escaped = false
            } else if quoted, character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
            } else if !quoted, character == separator {
                parts.append(text[start..<index])
                start = text.index(after: index)
            }
        }
        parts.append(text[start...])
        return parts
    }

    /// A token as it is, or a quoted string's content with `\` escapes resolved; nil for a quoted
    /// string that does not end.
    static func unquoted(_ value: Substring) -> String? {
        guard value.hasPrefix("\"") else { return String(value) }
        var result = ""
        var escaped = false
        for character in value.dropFirst() {
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                return result
            } else {
                result.append(character)
            }
        }
        return nil
    }
}
