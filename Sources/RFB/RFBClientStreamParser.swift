/// Follows an RFB (VNC) session from both sides' byte streams and splits the client's stream into
/// messages, with their byte offsets. It reads only as much of the server's stream as it needs to
/// know where the client's messages start: the version, the security type (RFB 3.3) and whether
/// VNC authentication runs. No sockets; feed it the bytes as they come, in any split.
public struct RFBClientStreamParser: Sendable {
    /// A client message and where it lies in the client's byte stream.
    public struct Parsed: Sendable, Equatable {
        public var message: RFBClientMessage
        /// Offset of the message's first byte in the client stream (0 = first byte the client sent).
        public var offset: UInt64
        public var length: Int
    }

    /// Where the parser is; `.lost` once it met something it cannot follow (an unknown security
    /// type or message type) — from then on client bytes are not attributed to messages.
    public enum State: Sendable, Equatable {
        case handshake
        case messages
        case lost(String)
    }

    public private(set) var state: State = .handshake

    private enum ClientStep: Sendable, Equatable {
        case version, securityChoice, waitServerSecurity, authResponse, clientInit, messages, lost
    }

    private var client: [UInt8] = []
    private var clientBase: UInt64 = 0
    private var clientStep: ClientStep = .version
    /// The handshake layout the client's stream follows: the lower of the two versions when the server's is
    /// known by the time the client's arrives (a client must not ask for more than the server offered; a 3.3
    /// server answers in 3.3 whatever it is asked), else the client's own — as ``RFBSessionParser`` decides.
    private var layout = RFBProtocolVersion.Layout.v38
    private var serverVersion: RFBProtocolVersion?

    private var server: [UInt8] = []
    private var serverStep = 0  // 0 version, 1 security (3.3), 2 done

    public init() {}

    /// What the client bytes received but not yet part of a complete message will be.
    public enum Partial: Sendable, Equatable {
        case protocolVersion
        case securityChoice
        case vncAuthResponse
        case clientInit
        /// The start of a normal message of this type.
        case message(type: UInt8)
    }

    /// The kind of the incomplete client message at the end of what was fed, if any (nil when
    /// every byte belongs to a complete message, or while waiting for the server, or when lost).
    public var partial: Partial? {
        guard !client.isEmpty else { return nil }
        switch clientStep {
        case .version: return .protocolVersion
        case .securityChoice: return .securityChoice
        case .authResponse: return .vncAuthResponse
        case .clientInit: return .clientInit
        case .messages: return .message(type: client[0])
        case .waitServerSecurity, .lost: return nil
        }
    }

    /// Feeds bytes the server sent to the client; returns client messages that this made complete.
    public mutating func feedServer(_ bytes: some Collection<UInt8>) -> [Parsed] {
        guard serverStep < 2 else { return [] }
        server.append(contentsOf: bytes)
        return progressServer()
    }

    /// Feeds bytes the client sent to the server; returns the client messages now complete.
    public mutating func feedClient(_ bytes: some Collection<UInt8>) -> [Parsed] {
        if clientStep == .lost {
            clientBase += UInt64(bytes.count)
            return []
        }
        client.append(contentsOf: bytes)
        return drainClient()
    }

    /// Reads the server's version and, for RFB 3.3 where the server picks it, the security type.
    private mutating func progressServer() -> [Parsed] {
        if serverStep == 0 {
            guard server.count >= 12 else { return [] }
            serverVersion = RFBProtocolVersion(server.prefix(12))
            server.removeFirst(12)
            serverStep = 1
        }
        guard clientStep != .version else { return [] }  // the client's version decides what follows
        if layout >= .v37 && serverVersion?.layout != .v33 {
            serverStep = 2
            server = []
            return []
        }
        guard server.count >= 4 else { return [] }
        let type = UInt32(server[0]) << 24 | UInt32(server[1]) << 16 | UInt32(server[2]) << 8 | UInt32(server[3])
        serverStep = 2
        server = []
        let chosen = UInt8(truncatingIfNeeded: min(type, 255))
        return clientStep == .waitServerSecurity ? advanceAfterSecurity(chosen) : []
    }

    private mutating func advanceAfterSecurity(_ type: UInt8) -> [Parsed] {
        switch type {
        case 1: clientStep = .clientInit
        case 2: clientStep = .authResponse
        default:
            clientStep = .lost
            state = .lost("security type \(type) is not followed (only None and VNC authentication are)")
            clientBase += UInt64(client.count)
            client = []
            return []
        }
        return drainClient()
    }

    private mutating func take(_ count: Int, _ message: RFBClientMessage) -> Parsed {
        let parsed = Parsed(message: message, offset: clientBase, length: count)
        client.removeFirst(count)
        clientBase += UInt64(count)
        return parsed
    }

    private mutating func drainClient() -> [Parsed] {
        var out: [Parsed] = []
        loop: while true {
            switch clientStep {
            case .version:
                guard client.count >= 12 else { break loop }
                let text = String(decoding: client.prefix(11), as: UTF8.self)
                let own = RFBProtocolVersion(client.prefix(12))?.layout ?? .v38
                layout = serverVersion?.layout.map { min($0, own) } ?? own
                out.append(take(12, .protocolVersion(text)))
                clientStep = layout >= .v37 ? .securityChoice : .waitServerSecurity
                if layout < .v37 {
                    out += progressServer()
                    break loop
                }
            case .securityChoice:
                guard client.count >= 1 else { break loop }
                let type = client[0]
                out.append(take(1, .securityChoice(type)))
                out += advanceAfterSecurity(type)
                break loop
            case .waitServerSecurity:
                break loop
            case .authResponse:
                guard client.count >= 16 else { break loop }
                out.append(take(16, .vncAuthResponse))
                clientStep = .clientInit
            case .clientInit:
                guard client.count >= 1 else { break loop }
                out.append(take(1, .clientInit(shared: client[0] != 0)))
                clientStep = .messages
                state = .messages
            case .messages:
                guard let type = client.first else { break loop }
                switch nextMessage(type) {
                case .needMore, .unknown: break loop
                case .message(let length, let message): out.append(take(length, message))
                }
            case .lost:
                break loop
            }
        }
        return out
    }

    private enum Next {
        case needMore
        case message(Int, RFBClientMessage)
        case unknown
    }

    /// The complete message at the start of `client`, if all its bytes are there.
    private mutating func nextMessage(_ type: UInt8) -> Next {
        func u16(_ i: Int) -> UInt16 { UInt16(client[i]) << 8 | UInt16(client[i + 1]) }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) << 16 | UInt32(u16(i + 2)) }
        func need(_ length: Int, _ make: () -> RFBClientMessage) -> Next {
            client.count >= length ? .message(length, make()) : .needMore
        }
        switch type {
        case 0:
            return need(20) { .setPixelFormat }
        case 2:
            guard client.count >= 4 else { return .needMore }
            let count = Int(u16(2))
            return need(4 + 4 * count) { .setEncodings((0..<count).map { Int32(bitPattern: u32(4 + 4 * $0)) }) }
        case 3:
            return need(10) {
                .framebufferUpdateRequest(incremental: client[1] != 0, x: u16(2), y: u16(4), width: u16(6), height: u16(8))
            }
        case 4:
            return need(8) { .keyEvent(down: client[1] != 0, keysym: u32(4)) }
        case 5:
            return need(6) { .pointerEvent(buttons: client[1], x: u16(2), y: u16(4)) }
        case 6:
            guard client.count >= 8 else { return .needMore }
            // A negative length marks the Extended Clipboard form; its magnitude is the length.
            let signed = Int32(bitPattern: u32(4))
            let length = signed < 0 ? UInt32(signed.magnitude) : UInt32(signed)
            guard length <= 1 << 24 else {
                lose("ClientCutText of \(length) bytes is implausible")
                return .unknown
            }
            return need(8 + Int(length)) { .clientCutText(length: length) }
        default:
            lose("client message type \(type) is not known")
            return .unknown
        }
    }

    private mutating func lose(_ reason: String) {
        state = .lost(reason)
        clientStep = .lost
        clientBase += UInt64(client.count)
        client = []
    }
}
