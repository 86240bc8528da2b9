import RecordFormat

/// What crossed one session, per direction, as the taps saw it: every frame parsed from the client
/// counts client-to-target, every frame sent to the client (relayed, or the proxy's own pongs,
/// pings and close frames) target-to-client. Bytes are frame payload bytes, unmasked, as the frames
/// carry them (in base64 mode: the base64 text, both ways).
struct SessionTotals: Equatable {
    private(set) var clientToTarget = DirectionTotals()
    private(set) var targetToClient = DirectionTotals()

    /// Counts one frame with a payload of `payloadBytes` bytes.
    mutating func count(_ direction: Direction, payloadBytes: Int) {
        switch direction {
        case .clientToTarget:
            clientToTarget.frames += 1
            clientToTarget.bytes += UInt64(payloadBytes)
        case .targetToClient:
            targetToClient.frames += 1
            targetToClient.bytes += UInt64(payloadBytes)
        }
    }

    /// The session's close record: how it ended, with these totals.
    func close(_ ending: SessionStateMachine.Ending) -> SessionClose {
        SessionClose(
            closedBy: ending.closer, code: ending.code, reason: ending.reason, clientToTarget: clientToTarget,
            targetToClient: targetToClient)
    }
}
