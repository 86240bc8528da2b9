extension RFBSessionParser {
    /// The FramebufferUpdate whose bytes are still arriving: where it starts in the server's stream
    /// and the pixel format its rectangles are measured in (the format when it began, which a
    /// later SetPixelFormat does not change). A decoder needs it to read the update's pixels in the
    /// same format the parser measured them in.
    public var updateInProgress: (offset: UInt64, pixelFormat: RFBPixelFormat?)? {
        update.map { ($0.start, $0.format) }
    }
}
