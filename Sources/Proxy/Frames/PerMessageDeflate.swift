/// The permessage-deflate extension (RFC 7692) as agreed with one client: negotiated in the
/// handshake from the client's `Sec-WebSocket-Extensions` offers, without I/O.
///
/// The proxy accepts the first offer it can honour and answers it in ``responseHeaderValue``.
/// An offer with an unknown, repeated or badly valued parameter is invalid and skipped (RFC 7692
/// §7.1); so is `server_max_window_bits=8`, which zlib cannot compress with (a raw deflate stream
/// needs a window of at least 9 bits). When no offer is left the session runs without the extension:
/// the handshake never fails because of it.
public struct PerMessageDeflate: Sendable, Equatable {
    /// The extension's token in `Sec-WebSocket-Extensions`.
    public static let name = "permessage-deflate"

    /// The proxy resets its compressor after each message (`server_no_context_takeover`).
    public var serverNoContextTakeover: Bool
    /// The client resets its compressor after each message, so the proxy resets its decompressor
    /// too (`client_no_context_takeover`).
    public var clientNoContextTakeover: Bool
    /// The window the proxy compresses with: the offer's `server_max_window_bits`, else 15.
    public var serverMaxWindowBits: Int
    /// `server_max_window_bits` was in the offer, so the answer repeats it.
    public var serverMaxWindowBitsRequested: Bool

    public init(
        serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false, serverMaxWindowBits: Int? = nil
    ) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits ?? 15
        self.serverMaxWindowBitsRequested = serverMaxWindowBits != nil
    }

    /// The smallest window zlib compresses a raw deflate stream with.
    static let smallestCompressionWindow = 9

    /// The extension agreed from the values of every `Sec-WebSocket-Extensions` header of a request,
    /// or nil when no offer of permessage-deflate can be honoured.
    public static func negotiate(_ headerValues: [String]) -> PerMessageDeflate? {
        for offer in WebSocketExtensionOffer.parse(headerValues) where offer.name == name {
            if let agreed = accept(offer) { return agreed }
        }
        return nil
    }

    /// The answer to `offer`, or nil when it is invalid or cannot be honoured.
    static func accept(_ offer: WebSocketExtensionOffer) -> PerMessageDeflate? {
        guard let parameters = offer.parameters else { return nil }
        var seen = Set<String>()
        var agreed = PerMessageDeflate()
        for parameter in parameters {
            let (name, value) = (parameter.name, parameter.value)
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { return nil }
                agreed.serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard value == nil else { return nil }
                agreed.clientNoContextTakeover = true
            case "server_max_window_bits":
                guard let value, let bits = windowBits(value), bits >= smallestCompressionWindow else { return nil }
                agreed.serverMaxWindowBits = bits
                agreed.serverMaxWindowBitsRequested = true
            case "client_max_window_bits":
                // Without a value the client only says it understands the parameter. The proxy
                // inflates with a 15-bit window, which reads any smaller one, so it never limits the
                // client and leaves the parameter out of its answer.
                if let value, windowBits(value) == nil { return nil }
            default:
                return nil
            }
        }
        return agreed
    }

    /// A window size parameter's value: 8 to 15 in decimal, without leading zeros (RFC 7692 §7.1.2).
    static func windowBits(_ value: String) -> Int? {
        guard let bits = Int(value), (8...15).contains(bits), String(bits) == value else { return nil }
        return bits
    }

    /// The `Sec-WebSocket-Extensions` value that accepts the offer.
    public var responseHeaderValue: String {
        var value = Self.name
        if serverNoContextTakeover { value += "; server_no_context_takeover" }
        if clientNoContextTakeover { value += "; client_no_context_takeover" }
        if serverMaxWindowBitsRequested { value += "; server_max_window_bits=\(serverMaxWindowBits)" }
        return value
    }
}
