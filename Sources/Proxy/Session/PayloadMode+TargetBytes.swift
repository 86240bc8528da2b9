import NIOCore
import WebSocketWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension PayloadMode {
    /// The data frame that carries `bytes` from the target to the client: a binary frame with the
    /// bytes as they are, or in base64 mode a text frame with them encoded.
    func frame(carrying bytes: ByteBuffer, allocator: ByteBufferAllocator) -> (opcode: Opcode, payload: ByteBuffer) {
        switch self {
        case .binary:
            return (.binary, bytes)
        case .base64:
            let text = Data(bytes.readableBytesView).base64EncodedString()
            var payload = allocator.buffer(capacity: text.utf8.count)
            payload.writeString(text)
            return (.text, payload)
        }
    }
}
