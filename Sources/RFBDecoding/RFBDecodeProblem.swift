import RFB

/// Something of a session's screen that was not decoded, with where it is in the server's stream.
public struct RFBDecodeProblem: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// A rectangle in an encoding this decoder does not draw (Tight, TRLE, H.264, …): it was
        /// passed over; the framebuffer keeps what was there.
        case notDecoded = "not decoded"
        /// A rectangle whose data breaks its encoding, or that lies outside the framebuffer: passed over.
        case malformed
        /// The server's stream cannot be followed from here (an encoding of unknown length, a
        /// broken stream, bytes missing): nothing later is decoded.
        case stopped
        /// The client's stream cannot be followed from here: a later SetPixelFormat would be missed.
        case clientNotFollowed = "client not followed"
    }

    public var kind: Kind
    /// Offset in the server's stream of the rectangle header or message (the client's stream for
    /// ``Kind/clientNotFollowed``).
    public var offset: UInt64
    /// The rectangle concerned, if any.
    public var rectangle: RFBRectangle?
    /// The time the caller gave with the bytes that completed it.
    public var time: Double?
    public var detail: String

    public init(kind: Kind, offset: UInt64, rectangle: RFBRectangle? = nil, time: Double? = nil, detail: String) {
        self.kind = kind
        self.offset = offset
        self.rectangle = rectangle
        self.time = time
        self.detail = detail
    }

    /// `not decoded: Tight rectangle 64x32 at (10,20): … at server offset 1234 (t=12.500)`.
    public var description: String {
        var text = "\(kind.rawValue): "
        if let r = rectangle { text += "\(r.encoding) rectangle \(r.width)x\(r.height) at (\(r.x),\(r.y)): " }
        text += "\(detail) at \(kind == .clientNotFollowed ? "client" : "server") offset \(offset)"
        if let time { text += " (t=\(time))" }
        return text
    }
}
