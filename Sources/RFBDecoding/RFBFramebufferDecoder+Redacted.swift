import RFB

extension RFBFramebufferDecoder {
    /// Tells the decoder that `count` bytes of `direction` were replaced by filler in the recording
    /// (`--record-redact`); nil when how many bytes the filler stands for is not known (a base64
    /// session). As ``RFBSessionParser/feedRedacted(_:count:)`` does: a redacted VNC authentication
    /// response is passed over (it carries no pixels), as are bytes inside pixel data (drawn as
    /// zeros); anything else stops that direction, reported like a problem of ``feed(_:_:time:)``.
    public func feedRedacted(_ direction: RFBDirection, count: Int?, time: Double? = nil) -> [RFBDecodeProblem] {
        guard !(direction == .serverToClient && isStopped) else { return [] }
        let carried = parser.updateInProgress
        // The server's bytes are kept for the pixels: the filler stands in for them, so that later
        // offsets still match. When the parser cannot place it, it stops the server's stream.
        if direction == .serverToClient, let count { serverBytes += repeatElement(0, count: count) }
        var problems: [RFBDecodeProblem] = []
        for event in parser.feedRedacted(direction, count: count) {
            handle(event, carried: carried, time: time, into: &problems)
        }
        dropUsedServerBytes()
        return problems
    }
}
