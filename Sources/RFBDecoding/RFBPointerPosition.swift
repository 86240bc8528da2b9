/// Where the pointer is on the screen: the client's last PointerEvent, or the server's last
/// PointerPos (-232) pseudo-rectangle, whichever came later.
public struct RFBPointerPosition: Sendable, Hashable {
    public var x: Int
    public var y: Int

    public init(x: Int, y: Int) {
        self.x = x
        self.y = y
    }
}
