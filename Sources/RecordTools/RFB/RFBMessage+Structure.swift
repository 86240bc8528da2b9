import RFB

extension RFBMessage {
    /// What `diff --rfb` compares of a server message: its structure without what depends only on
    /// the pixels. Two sessions that showed the same screen changes compress them differently
    /// (zlib and Tight streams carry state, JPEG quality adapts, a cursor blinks into another
    /// update), so rectangle byte counts, Tight compression methods, H.264 context flags, stream
    /// offsets and audio data lengths are left out; message types, rectangle counts, geometry,
    /// encodings, CopyRect sources, pseudo-rectangles (DesktopSize, ExtendedDesktopSize screens,
    /// DesktopName, cursor size and hotspot, LED state), cut text and everything else stay.
    /// Client messages are compared whole.
    public var structure: RFBMessage {
        switch self {
        case .framebufferUpdate(let update):
            let rectangles = update.rectangles.map { rectangle in
                var shape = rectangle
                shape.offset = 0
                shape.dataLength = 0
                switch shape.detail {
                case .tight, .h264: shape.detail = .none
                default: break
                }
                return shape
            }
            return .framebufferUpdate(RFBFramebufferUpdate(declaredCount: update.declaredCount, rectangles: rectangles))
        case .qemuAudio(let operation, _):
            return .qemuAudio(operation: operation, dataLength: nil)
        default:
            return self
        }
    }
}
