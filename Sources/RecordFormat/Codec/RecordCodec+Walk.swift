extension RecordCodec {
    /// Calls `visit` with the kind, flags, session, time and body of every record in a raw
    /// payload the writer built (so it is well formed), without decoding frame payloads. Stops at
    /// the first record it cannot read.
    static func walk(
        _ payload: UnsafeRawBufferPointer,
        _ visit: (_ kind: KindByte, _ flags: UInt8, _ session: UInt32, _ time: UInt64, _ body: UnsafeRawBufferPointer)
            -> Void
    ) {
        var position = 0
        while payload.count - position >= headerLength {
            let length = Int(loadLE(payload, position + 16, as: UInt32.self))
            let bodyStart = position + headerLength
            guard length <= payload.count - bodyStart, let kind = KindByte(rawValue: payload[position]) else { return }
            visit(
                kind, payload[position + 1], loadLE(payload, position + 4, as: UInt32.self),
                loadLE(payload, position + 8, as: UInt64.self),
                UnsafeRawBufferPointer(rebasing: payload[bodyStart..<bodyStart + length]))
            position = bodyStart + length
        }
    }
}
