/// The server's stream: handshake (RFC 6143 §7.1–7.3) and server messages (§7.6, rfbproto).
extension RFBSessionParser {
    private static let server = RFBDirection.serverToClient

    private var serverQueue: RFBByteQueue { sides[1].queue }

    /// A FramebufferUpdate being read.
    struct UpdateProgress: Sendable {
        var start: UInt64
        var declaredCount: UInt16
        var remaining: Int
        var rectangles: [RFBRectangle] = []
        /// The pixel format when the update began.
        var format: RFBPixelFormat?
        /// The rectangle whose data is being read.
        var current: (rectangle: RFBRectangle, dataStart: UInt64, walker: RFBRectangleWalker)?
    }

    mutating func stepServer() -> Step {
        let q = serverQueue
        switch serverStage {
        case .version:
            let (version, step) = readVersion(Self.server)
            guard let version else { return step }
            state.serverVersion = version
            serverStage = .security
            return take(Self.server, 12, .protocolVersion(version))
        case .security:
            // A 3.3 server sends the 3.3 form whatever the client asks; otherwise the client's
            // version decides.
            let layout: RFBProtocolVersion.Layout
            if state.serverVersion?.layout == .v33 {
                layout = .v33
            } else if let negotiated = state.layout {
                layout = negotiated
            } else {
                return .blocked
            }
            return securityMessage(q, layout: layout)
        case .waitChoice:
            guard let type = state.securityType else { return .blocked }
            switch type {
            case .none: serverStage = state.layout == .v38 ? .securityResult : .serverInit
            case .vncAuthentication: serverStage = .challenge
            default: serverStage = .unsupported(type)
            }
            return .advanced
        case .unsupported(let type):
            return unsupported(Self.server, type)
        case .challenge:
            guard q.count >= 16 else { return .blocked }
            serverStage = .securityResult
            return take(Self.server, 16, .vncAuthChallenge)
        case .securityResult:
            guard q.count >= 4 else { return .blocked }
            let status = q.u32(0)
            guard status != 0 else {
                serverStage = .serverInit
                return take(Self.server, 4, .securityResult(status: 0, reason: nil))
            }
            guard state.layout == .v38 else {
                serverStage = .closed
                return take(Self.server, 4, .securityResult(status: status, reason: nil))
            }
            let step = reasonMessage(Self.server, header: 4) { .securityResult(status: status, reason: $0) }
            if case .blocked = step { return step }
            serverStage = .closed
            return step
        case .serverInit:
            guard q.count >= 24 else { return .blocked }
            let length = q.u32(20)
            guard let (name, keep) = string(Self.server, at: 24, length: length) else { return .blocked }
            let format = RFBPixelFormat(q.bytes(4, 16))
            state.framebufferWidth = q.u16(0)
            state.framebufferHeight = q.u16(2)
            state.pixelFormat = format
            state.desktopName = name
            serverStage = .messages
            return take(
                Self.server, header: 24 + keep, skip: UInt64(length) - UInt64(keep),
                .serverInit(width: q.u16(0), height: q.u16(2), pixelFormat: format, name: name))
        case .closed:
            guard q.count > 0 else { return .blocked }
            return stop(Self.server, .malformed, at: q.offset, "server bytes after the connection failed")
        case .messages:
            guard q.count >= 1 else { return .blocked }
            return serverMessage(q)
        case .update:
            return updateStep()
        }
    }

    /// The security types (3.7+) or type (3.3), or the failure that replaces them.
    private mutating func securityMessage(_ q: RFBByteQueue, layout: RFBProtocolVersion.Layout) -> Step {
        if layout == .v33 {
            guard q.count >= 4 else { return .blocked }
            let number = q.u32(0)
            if number == 0 {
                let step = reasonMessage(Self.server, header: 4) { .securityFailure(reason: $0) }
                if case .blocked = step { return step }
                state.securityType = .invalid
                serverStage = .closed
                return step
            }
            guard number <= 255 else {
                return stop(
                    Self.server, .malformed, at: q.offset, "RFB 3.3 security type \(number) (only 0, 1 and 2 exist)")
            }
            let type = RFBSecurityType(rawValue: UInt8(number))
            state.securityType = type
            switch type {
            case .none: serverStage = .serverInit
            case .vncAuthentication: serverStage = .challenge
            default: serverStage = .unsupported(type)
            }
            return take(Self.server, 4, .securityType(type))
        }
        guard q.count >= 1 else { return .blocked }
        let count = Int(q[0])
        if count == 0 {
            let step = reasonMessage(Self.server, header: 1) { .securityFailure(reason: $0) }
            if case .blocked = step { return step }
            serverStage = .closed
            return step
        }
        guard q.count >= 1 + count else { return .blocked }
        let types = q.bytes(1, count).map { RFBSecurityType(rawValue: $0) }
        state.offeredSecurityTypes = types
        serverStage = .waitChoice
        return take(Self.server, 1 + count, .securityTypes(types))
    }

    private mutating func serverMessage(_ q: RFBByteQueue) -> Step {
        let type = q[0]
        switch type {
        case 0:
            guard q.count >= 4 else { return .blocked }
            let count = q.u16(2)
            update = UpdateProgress(
                start: q.offset, declaredCount: count, remaining: Int(count), format: state.pixelFormat)
            sides[1].queue.consume(4)
            serverStage = .update
            return .advanced
        case 1:
            guard q.count >= 6 else { return .blocked }
            let count = q.u16(4)
            return take(
                Self.server, header: 6, skip: 6 * UInt64(count),
                .setColourMapEntries(firstColour: q.u16(2), count: count))
        case 2:
            return take(Self.server, 1, .bell)
        case 3:
            return cutText(Self.server) { .serverCutText($0) }
        case 150:
            return take(Self.server, 1, .endOfContinuousUpdates)
        case 248:
            return fence(Self.server) { .serverFence(flags: $0, payload: $1) }
        case 250:
            guard q.count >= 4 else { return .blocked }
            return take(Self.server, 4, .xvp(version: q[2], code: q[3]))
        case 255:
            guard q.count >= 4 else { return .blocked }
            guard q[1] == 1 else {
                return stop(Self.server, .unknown, at: q.offset, "QEMU server message subtype \(q[1]) is not known")
            }
            let operation = q.u16(2)
            switch operation {
            case 0, 1:
                return take(Self.server, 4, .qemuAudio(operation: operation, dataLength: nil))
            case 2:
                guard q.count >= 8 else { return .blocked }
                let length = q.u32(4)
                return take(
                    Self.server, header: 8, skip: UInt64(length), .qemuAudio(operation: operation, dataLength: length))
            default:
                return stop(
                    Self.server, .unknown, at: q.offset, "QEMU audio server operation \(operation) is not known")
            }
        default:
            return stop(Self.server, .unknown, at: q.offset, "server message type \(type) is not known")
        }
    }

    /// One step of a FramebufferUpdate: a rectangle header, a piece of rectangle data, or the end.
    private mutating func updateStep() -> Step {
        guard var progress = update else { return .blocked }
        update = nil
        if var current = progress.current {
            progress.current = nil
            switch current.walker.step(&sides[1].queue) {
            case .blocked:
                progress.current = current
                update = progress
                return .blocked
            case .advanced:
                progress.current = current
                update = progress
                return .advanced
            case .failed(let kind, let why):
                let rectangle = current.rectangle
                return stop(
                    Self.server, kind, at: progress.start,
                    "FramebufferUpdate rectangle \(progress.rectangles.count + 1) (\(rectangle.encoding) at offset "
                        + "\(rectangle.offset)): \(why)")
            case .done(let detail):
                current.rectangle.detail = detail
                current.rectangle.dataLength = serverQueue.offset - current.dataStart
                finished(current.rectangle, in: &progress)
                update = progress
                return .advanced
            }
        }
        if progress.remaining == 0 {
            serverStage = .messages
            let message = RFBMessage.framebufferUpdate(
                RFBFramebufferUpdate(declaredCount: progress.declaredCount, rectangles: progress.rectangles))
            return emitted(Self.server, from: progress.start, message)
        }
        let q = serverQueue
        guard q.count >= 12 else {
            update = progress
            return .blocked
        }
        let rectangle = RFBRectangle(
            x: q.u16(0), y: q.u16(2), width: q.u16(4), height: q.u16(6),
            encoding: RFBEncoding(Int32(bitPattern: q.u32(8))),
            offset: q.offset)
        sides[1].queue.consume(12)
        switch RFBRectangleWalker.make(for: rectangle, format: progress.format) {
        case .success(let walker):
            progress.current = (rectangle, serverQueue.offset, walker)
            update = progress
            return .advanced
        case .failure(let failure):
            return stop(
                Self.server, failure.kind, at: progress.start,
                "FramebufferUpdate rectangle \(progress.rectangles.count + 1) at offset \(rectangle.offset): \(failure.why)"
            )
        }
    }

    /// Records a finished rectangle and what it changes in the session.
    private mutating func finished(_ rectangle: RFBRectangle, in progress: inout UpdateProgress) {
        progress.rectangles.append(rectangle)
        progress.remaining = rectangle.encoding == .lastRect ? 0 : progress.remaining - 1
        switch rectangle.encoding {
        case .desktopSize, .extendedDesktopSize:
            // ExtendedDesktopSize: y is the status of a requested change; only 0 means done.
            guard rectangle.encoding == .desktopSize || rectangle.y == 0 else { break }
            state.framebufferWidth = rectangle.width
            state.framebufferHeight = rectangle.height
        case .extendedMouseButtons:
            state.extendedMouseButtonsConfirmed = true
        default:
            break
        }
        if case .desktopName(let name) = rectangle.detail { state.desktopName = name }
    }
}
