import RFB

/// Keyframes: a decoder's state between messages, and a decoder made from one.
extension RFBFramebufferDecoder {
    /// Whether both streams are between messages after the handshake (or no longer followed):
    /// the only points ``snapshot()`` can be taken at. Check it after each ``feed(_:_:time:)``.
    public var isAtMessageBoundary: Bool { parser.resumePoint != nil }

    /// The decoder's state, to resume from later; nil when it cannot be kept: a stream is
    /// inside a message or the handshake, or a zlib stream is not at a deflate block boundary
    /// (a server that does not flush at the end of each rectangle).
    public func snapshot() -> RFBDecoderSnapshot? {
        guard let point = parser.resumePoint, let zrle = zrleStream.state, let zlib = zlibStream.state else { return nil }
        let tight = tightStreams.compactMap(\.state)
        guard tight.count == tightStreams.count else { return nil }
        guard point.serverStopped || serverBase + UInt64(serverBytes.count) == point.serverOffset else { return nil }
        return RFBDecoderSnapshot(
            parser: point, framebuffer: framebuffer, pixelFormat: converter?.format,
            colourMap: converter?.colourMap ?? [], updateCount: updateCount, isStopped: isStopped, zrle: zrle,
            tight: tight, zlib: zlib, cursor: cursor, pointer: pointer)
    }

    /// A decoder that goes on from `snapshot`: feed it the bytes each side sent after the
    /// snapshot's offsets. Throws when the snapshot's zlib state cannot be restored, or its
    /// colour map does not fit its pixel format (a hand-made snapshot).
    public convenience init(resumingFrom snapshot: RFBDecoderSnapshot) throws(RFBSnapshotFormatError) {
        self.init()
        parser = RFBSessionParser(resumingAt: snapshot.parser)
        framebuffer = snapshot.framebuffer
        updateCount = snapshot.updateCount
        cursor = snapshot.cursor
        pointer = snapshot.pointer
        isStopped = snapshot.isStopped
        serverBase = snapshot.serverOffset
        serverConsumed = snapshot.serverOffset
        if let format = snapshot.pixelFormat {
            guard var restored = RFBPixelConverter(format) else {
                throw RFBSnapshotFormatError(offset: nil, message: "pixel format \(format) cannot be read")
            }
            guard restored.restoreColourMap(snapshot.colourMap) else {
                throw RFBSnapshotFormatError(
                    offset: nil,
                    message: "a colour map of \(snapshot.colourMap.count) entries for pixel format \(format)")
            }
            converter = restored
        }
        guard snapshot.tight.count == tightStreams.count else {
            throw RFBSnapshotFormatError(offset: nil, message: "\(snapshot.tight.count) Tight streams (4 expected)")
        }
        do {
            zrleStream = try RFBInflater(state: snapshot.zrle)
            zlibStream = try RFBInflater(state: snapshot.zlib)
            tightStreams = try snapshot.tight.map { state throws(RFBInflater.Failure) in try RFBInflater(state: state) }
        } catch {
            throw RFBSnapshotFormatError(offset: nil, message: "a zlib stream: \(error.message)")
        }
    }
}
