extension RFBSessionParser {
    /// All a parser needs to go on from a point where neither side is inside a message (both past
    /// the handshake, or no longer followed): what the session settled, and how many bytes each
    /// side had sent. A decoder keeps it in a keyframe and resumes there without the bytes before.
    public struct ResumePoint: Sendable, Hashable {
        public var state: RFBSessionState
        /// Bytes of the client's and the server's streams up to the point.
        public var clientOffset: UInt64
        public var serverOffset: UInt64
        /// Sides that are no longer followed (their later bytes are dropped).
        public var clientStopped: Bool
        public var serverStopped: Bool

        public init(
            state: RFBSessionState, clientOffset: UInt64, serverOffset: UInt64, clientStopped: Bool,
            serverStopped: Bool
        ) {
            self.state = state
            self.clientOffset = clientOffset
            self.serverOffset = serverOffset
            self.clientStopped = clientStopped
            self.serverStopped = serverStopped
        }
    }

    /// Where the parser stands, if both sides are between messages after the handshake (or
    /// stopped) with no byte buffered; nil otherwise (inside a message or the handshake).
    public var resumePoint: ResumePoint? {
        let client = sides[0]
        let server = sides[1]
        let clientIdle =
            client.stopped
            || (clientStage == .messages && client.queue.count == 0 && !client.queue.isSkipping && client.pending == nil)
        let serverIdle =
            server.stopped
            || (serverStage == .messages && update == nil && server.queue.count == 0 && !server.queue.isSkipping
                && server.pending == nil)
        guard clientIdle, serverIdle else { return nil }
        return ResumePoint(
            state: state, clientOffset: client.queue.offset, serverOffset: server.queue.offset,
            clientStopped: client.stopped, serverStopped: server.stopped)
    }

    /// A parser that goes on from `point`: fed the bytes each side sent after it, it reports what
    /// the parser that made the point would have.
    public init(resumingAt point: ResumePoint) {
        state = point.state
        sides = [Side(queue: RFBByteQueue(offset: point.clientOffset)), Side(queue: RFBByteQueue(offset: point.serverOffset))]
        sides[0].stopped = point.clientStopped
        sides[1].stopped = point.serverStopped
        clientStage = .messages
        serverStage = .messages
    }
}
