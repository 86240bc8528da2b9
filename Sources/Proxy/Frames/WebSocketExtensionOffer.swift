/// One extension offered in `Sec-WebSocket-Extensions` (RFC 6455 §9.1): a name and its parameters.
///
///     extension = extension-token *( ";" extension-param )
///     extension-param = token [ "=" ( token | quoted-string ) ]
///
/// A quoted value is unquoted (RFC 7230 §3.2.6 escapes); it must then be a token too.
struct WebSocketExtensionOffer: Equatable {
    /// The extension's name, lowercased.
    var name: String
    /// Parameter names (lowercased) and values in the order given; nil when the element is not
    /// valid syntax (the offer is kept so that its name can be told, but cannot be accepted).
    var parameters: [Parameter]?

    struct Parameter: Equatable {
        var name: String
        var value: String?
    }

    /// The offers of every header value, in order; empty elements (`a,,b`) are skipped.
    static func parse(_ headerValues: [String]) -> [WebSocketExtensionOffer] {
        headerValues.flatMap { HTTPQuotedString.split(Substring($0), at: ",") }.compactMap { element in
            let parts = HTTPQuotedString.split(element, at: ";").map { Substring($0.trimmingWhitespace()) }
            guard let first = parts.first, !first.isEmpty else { return nil }
            var parameters: [Parameter]? = []
            if !isToken(first) { parameters = nil }
            for part in parts.dropFirst() {
                guard let parameter = Self.parameter(part) else {
                    parameters = nil
                    break
                }
                parameters?.append(parameter)
            }
            return WebSocketExtensionOffer(name: first.lowercased(), parameters: parameters)
        }
    }

    /// `name` or `name=value`, the value a token or a quoted string holding a token.
    private static func parameter(_ text: Substring) -> Parameter? {
        guard let equals = text.firstIndex(of: "=") else {
            return isToken(text) ? Parameter(name: text.lowercased(), value: nil) : nil
        }
        let name = text[..<equals].trimmingWhitespace()
        let quotedOrToken = Substring(text[text.index(after: equals)...].trimmingWhitespace())
        // A quoted string must end the parameter: nothing may follow its closing quote.
        guard isToken(Substring(name)), !quotedOrToken.hasPrefix("\"") || quotedOrToken.hasSuffix("\""),
            let value = HTTPQuotedString.unquoted(quotedOrToken), isToken(Substring(value))
        else { return nil }
        return Parameter(name: name.lowercased(), value: String(value))
    }

    /// An HTTP token (RFC 7230 §3.2.6): visible ASCII except separators.
    static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy { scalar in
                scalar.value > 0x20 && scalar.value < 0x7F && !"()<>@,;:\\\"/[]?={}".unicodeScalars.contains(scalar)
            }
    }
}
