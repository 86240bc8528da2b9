import NIOCore
import NIOEmbedded
import NIOHTTP1

@testable import Proxy

/// An HTTP request head as the proxy reads it: `HeaderBlockLimit` (the 431 bound before the HTTP
/// parser), NIO's request decoder, then `HandshakeDecision` and the permessage-deflate negotiation.
///
/// Invariants: the header block's end is found at the same byte however the input is cut; a 101
/// answers only GET over HTTP/1.1+ with one valid key (its `Sec-WebSocket-Accept` computed from it)
/// and a subprotocol the client offered; refusals are 4xx; negotiation agrees only to what the
/// client offered and its answer negotiates to itself.
enum HTTPHandshakeTarget {
    static let target = FuzzTarget(
        name: "http-handshake",
        summary: "HeaderBlockLimit + HTTP head + HandshakeDecision + permessage-deflate negotiation: cut-invariant, RFC 6455 §4.2"
    ) { run($0) }

    static let limit = 8192

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let seed = (0..<Int(input.byte() % 17)).map { _ in input.byte() }
        let data = input.rest
        let whole = blockEnd([data[...]])
        let cut = blockEnd(FuzzInput.cuts(of: data, seed: seed))
        FuzzCheck.require(whole == cut, "header block end \(String(describing: whole)) whole, \(String(describing: cut)) cut at \(seed)")
        guard case .some(.some(let end)) = whole else { return }
        for head in heads(Array(data[..<end])) { check(head) }
    }

    /// Where the header block ends (nil: not within the data; .some(nil): over the limit).
    static func blockEnd(_ pieces: [ArraySlice<UInt8>]) -> Int?? {
        var limit = HeaderBlockLimit(limit: limit)
        var offset = 0
        for piece in pieces {
            switch limit.feed(piece) {
            case .withinLimit: offset += piece.count
            case .complete(let used):
                FuzzCheck.require(used >= 1 && used <= piece.count, "complete after \(used) of \(piece.count) bytes")
                return .some(offset + used)
            case .exceeded:
                FuzzCheck.require(offset + piece.count > Self.limit, "exceeded within the limit")
                return .some(nil)
            }
        }
        return nil
    }

    /// The request heads NIO's decoder reads from `block` (none when it refuses it).
    static func heads(_ block: [UInt8]) -> [HTTPRequestHead] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        defer { _ = try? channel.finish() }
        do {
            try channel.writeInbound(ByteBuffer(bytes: block))
        } catch {
            return []
        }
        var out: [HTTPRequestHead] = []
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            if case .head(let head) = part { out.append(head) }
        }
        return out
    }

    static func check(_ head: HTTPRequestHead) {
        let decision = HandshakeDecision.decide(head)
        FuzzCheck.require(decision == HandshakeDecision.decide(head), "two decisions differ")
        switch decision {
        case .accept(let headers, let subprotocol, let mode):
            FuzzCheck.require(head.method == .GET, "101 to \(head.method)")
            FuzzCheck.require(head.version.major >= 1 && (head.version.major > 1 || head.version.minor >= 1), "101 to \(head.version)")
            let keys = head.headers["sec-websocket-key"]
            FuzzCheck.require(keys.count == 1, "101 with \(keys.count) keys")
            let key = keys[0].trimmingSpaces
            FuzzCheck.require(HandshakeDecision.isValidKey(key), "101 with key '\(key)'")
            FuzzCheck.require(
                headers["Sec-WebSocket-Accept"] == [HandshakeDecision.acceptValue(forKey: key)], "wrong Sec-WebSocket-Accept")
            if let subprotocol {
                let offered = HandshakeDecision.tokens(head.headers, "sec-websocket-protocol", lowercased: false)
                FuzzCheck.require(offered.contains(subprotocol), "subprotocol \(subprotocol) was not offered")
                FuzzCheck.require(headers["Sec-WebSocket-Protocol"] == [subprotocol], "subprotocol not answered")
            }
            FuzzCheck.require((mode == .base64) == (subprotocol == "base64"), "mode \(mode) for \(subprotocol ?? "none")")
        case .reject(let status, _, let message):
            FuzzCheck.require((400..<500).contains(status.code), "refused with \(status.code)")
            FuzzCheck.require(!message.isEmpty, "refused without a message")
        }
        let offers = head.headers["sec-websocket-extensions"]
        if let agreed = PerMessageDeflate.negotiate(offers) {
            FuzzCheck.require((9...15).contains(agreed.serverMaxWindowBits), "window \(agreed.serverMaxWindowBits) bits")
            FuzzCheck.require(
                PerMessageDeflate.negotiate([agreed.responseHeaderValue]) == agreed,
                "the answer '\(agreed.responseHeaderValue)' negotiates differently")
            FuzzCheck.require(
                WebSocketExtensionOffer.parse(offers).contains { $0.name == PerMessageDeflate.name },
                "agreed to permessage-deflate that was not offered")
        }
    }
}
