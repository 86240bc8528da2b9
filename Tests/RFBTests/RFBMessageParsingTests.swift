import RFB
import Testing

@Suite("RFB messages, byte-exact, both directions")
struct RFBMessageParsingTests {
    /// The one message `bytes` makes after the handshake (and `encodings`), checked to use every byte.
    func single(
        _ direction: RFBDirection, _ bytes: [UInt8], encodings: [Int32] = [], format: [UInt8] = pixelFormat32,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> RFBMessage {
        var script = RFBScript.connected(format: format, encodings: encodings)
        let before = script.totals[direction] ?? 0
        let skip = handshakeMessages + (encodings.isEmpty ? 0 : 1)
        script.events.append((direction, bytes))
        let events = script.parse()
        let problems = events.filter { if case .problem = $0 { true } else { false } }
        #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
        let messages = Array(events.compactMap(\.parsedMessage).dropFirst(skip))
        try #require(messages.count == 1, "\(messages)", sourceLocation: sourceLocation)
        #expect(messages[0].direction == direction, sourceLocation: sourceLocation)
        #expect(messages[0].offset == before, sourceLocation: sourceLocation)
        #expect(messages[0].length == UInt64(bytes.count), sourceLocation: sourceLocation)
        return messages[0].message
    }

    @Test("the RFB 3.8 None handshake: versions, types, choice, result, inits, with offsets")
    func handshake38None() throws {
        let events = RFBScript.connected().parse()
        let messages = events.compactMap(\.parsedMessage)
        try #require(messages.count == 7 && events.count == 7)
        #expect(
            messages.map(\.message.name) == [
                "ProtocolVersion", "ProtocolVersion", "SecurityTypes", "SecurityChoice", "SecurityResult", "ClientInit",
                "ServerInit",
            ])
        #expect(
            messages.map(\.direction) == [
                .serverToClient, .clientToServer, .serverToClient, .clientToServer, .serverToClient, .clientToServer,
                .serverToClient,
            ])
        #expect(messages.map(\.offset) == [0, 0, 12, 12, 14, 13, 18])
        #expect(messages[2].message == .securityTypes([.none]))
        #expect(messages[4].message == .securityResult(status: 0, reason: nil))
        #expect(messages[5].message == .clientInit(shared: true))
        let format = RFBPixelFormat(pixelFormat32)
        #expect(messages[6].message == .serverInit(width: 800, height: 600, pixelFormat: format, name: "test"))
        #expect(messages[6].length == 28)
        #expect(
            messages[6].message.description
                == "ServerInit 800x600 \"test\" 32bpp depth 24 little-endian true-colour R255<<16 G255<<8 B255<<0")
    }

    @Test("RFB 3.8 VNC authentication: challenge and response are reported, never shown")
    func handshake38VNCAuth() throws {
        let script = RFBScript.vncAuthenticated()
        let messages = script.parse().compactMap(\.parsedMessage)
        #expect(
            messages.map(\.message.description) == [
                "ProtocolVersion 3.8", "ProtocolVersion 3.8", "SecurityTypes [None (1), VNCAuth (2)]",
                "SecurityChoice VNCAuth (2)",
                "VNCAuthChallenge challenge (16 bytes, redacted)", "VNCAuthResponse response (16 bytes, redacted)",
                "SecurityResult OK", "ClientInit shared",
                "ServerInit 64x32 \"test\" 32bpp depth 24 little-endian true-colour R255<<16 G255<<8 B255<<0",
            ])
        #expect(messages[4].offset == 15 && messages[4].length == 16)
        #expect(messages[5].offset == 13 && messages[5].length == 16)
        #expect(!messages.map(\.message.description).joined().contains("c3"), "no challenge byte is shown")
    }

    @Test("RFB 3.8 failed authentication carries the reason; later server bytes are malformed")
    func handshake38Failure() throws {
        var script = RFBScript()
        script.server(ascii("RFB 003.008\n"))
        script.client(ascii("RFB 003.008\n"))
        script.server([1, 2])
        script.client([2])
        script.server([UInt8](repeating: 1, count: 16))
        script.client([UInt8](repeating: 2, count: 16))
        script.server(u32(1) + u32(12) + ascii("bad password"))
        script.server([9])
        let events = script.parse()
        #expect(events.compactMap(\.parsedMessage).last?.message == .securityResult(status: 1, reason: "bad password"))
        guard case .problem(let problem) = events.last else {
            Issue.record("no problem for bytes after the failure: \(events)")
            return
        }
        #expect(problem.kind == .malformed && problem.direction == .serverToClient && problem.offset == 50)
    }

    @Test("RFB 3.7 None has no SecurityResult; a 3.3 server picks the type with a U32")
    func handshake37And33() throws {
        var v37 = RFBScript()
        v37.server(ascii("RFB 003.007\n"))
        v37.client(ascii("RFB 003.007\n"))
        v37.server([1, 1])
        v37.client([1, 1])
        v37.server(u16(2) + u16(2) + pixelFormat32 + u32(1) + ascii("x"))
        #expect(
            v37.parse().map(\.description) == [
                "ProtocolVersion 3.7", "ProtocolVersion 3.7", "SecurityTypes [None (1)]", "SecurityChoice None (1)",
                "ClientInit shared",
                "ServerInit 2x2 \"x\" 32bpp depth 24 little-endian true-colour R255<<16 G255<<8 B255<<0",
            ])

        // A 3.8 server talking to a 3.3 client: the U32 form, VNC authentication, no reason on failure.
        var v33 = RFBScript()
        v33.server(ascii("RFB 003.008\n"))
        v33.client(ascii("RFB 003.003\n"))
        v33.server(u32(2) + [UInt8](repeating: 7, count: 16))
        v33.client([UInt8](repeating: 8, count: 16) + [1])
        v33.server(u32(0) + u16(2) + u16(2) + pixelFormat32 + u32(0))
        v33.client([4, 1, 0, 0] + u32(0x61))
        let messages = v33.parse().compactMap(\.parsedMessage)
        #expect(
            messages.map(\.message.name) == [
                "ProtocolVersion", "ProtocolVersion", "SecurityType", "VNCAuthChallenge", "VNCAuthResponse",
                "ClientInit",
                "SecurityResult", "ServerInit", "KeyEvent",
            ])
        #expect(messages[2].message == .securityType(.vncAuthentication) && messages[2].length == 4)
    }

    @Test("a connection refused before authentication: 3.7+ with no types, 3.3 with type 0")
    func connectionFailed() {
        var v38 = RFBScript()
        v38.server(ascii("RFB 003.008\n"))
        v38.client(ascii("RFB 003.008\n"))
        v38.server([0] + u32(9) + ascii("too many!"))
        #expect(v38.parse().last?.description == "SecurityFailure \"too many!\"")

        var v33 = RFBScript()
        v33.server(ascii("RFB 003.003\n"))
        v33.client(ascii("RFB 003.003\n"))
        v33.server(u32(0) + u32(2) + ascii("no"))
        #expect(v33.parse().last?.description == "SecurityFailure \"no\"")
    }

    @Test("every client message, byte-exact")
    func clientMessages() throws {
        let c = RFBDirection.clientToServer
        #expect(try single(c, [0, 0, 0, 0] + pixelFormat16) == .setPixelFormat(RFBPixelFormat(pixelFormat16)))
        #expect(
            try single(c, [2, 0] + u16(3) + s32(16) + s32(-223) + s32(Int32(bitPattern: 0xC0A1_E5CE)))
                == .setEncodings([.zrle, .desktopSize, .extendedClipboard]))
        #expect(
            try single(c, [3, 1] + u16(10) + u16(20) + u16(30) + u16(40))
                == .framebufferUpdateRequest(incremental: true, x: 10, y: 20, width: 30, height: 40))
        #expect(try single(c, [4, 1, 0, 0] + u32(0x6F)) == .keyEvent(down: true, keysym: RFBKeysym(0x6F)))
        #expect(
            try single(c, [5, 0x84] + u16(100) + u16(200))
                == .pointerEvent(buttons: 0x84, x: 100, y: 200, extended: false))
        #expect(
            try single(c, [6, 0, 0, 0] + u32(5) + ascii("hello"))
                == .clientCutText(.text(length: 5, prefix: ascii("hello"))))
        #expect(
            try single(c, [150, 1] + u16(0) + u16(0) + u16(800) + u16(600))
                == .enableContinuousUpdates(enable: true, x: 0, y: 0, width: 800, height: 600))
        #expect(
            try single(c, [248, 0, 0, 0] + u32(0x8000_0003) + [2, 0xAB, 0xCD])
                == .clientFence(flags: 0x8000_0003, payload: [0xAB, 0xCD]))
        #expect(try single(c, [250, 0, 1, 3]) == .xvp(version: 1, code: 3))
        let screen = u32(7) + u16(0) + u16(0) + u16(1024) + u16(768) + u32(0)
        #expect(
            try single(c, [251, 0] + u16(1024) + u16(768) + [1, 0] + screen)
                == .setDesktopSize(
                    width: 1024, height: 768,
                    screens: [RFBScreen(id: 7, x: 0, y: 0, width: 1024, height: 768, flags: 0)]))
        #expect(
            try single(c, [255, 0] + u16(1) + u32(0xFF53) + u32(0xCD))
                == .qemuExtendedKeyEvent(down: true, keysym: RFBKeysym(0xFF53), keycode: 0xCD))
        #expect(try single(c, [255, 1] + u16(0)) == .qemuAudioControl(operation: 0, format: nil))
        #expect(
            try single(c, [255, 1] + u16(2) + [3, 2] + u32(44100))
                == .qemuAudioControl(
                    operation: 2, format: RFBAudioFormat(sampleFormat: 3, channels: 2, frequency: 44100)))
    }

    @Test("extended forms need what was announced: Extended Clipboard, ExtendedMouseButtons")
    func extendedClientForms() throws {
        let clipboard = Int32(bitPattern: 0xC0A1_E5CE)
        // caps: flags, then one U32 size per format bit.
        let caps = u32(1 << 24 | 0b101) + u32(1_048_576) + u32(65536)
        let message = try single(
            .clientToServer, [6, 0, 0, 0] + s32(-Int32(caps.count)) + caps, encodings: [clipboard])
        #expect(
            message
                == .clientCutText(
                    .extended(RFBExtendedClipboard(flags: 1 << 24 | 0b101, maxSizes: [1_048_576, 65536]))))
        #expect(message.description == "ClientCutText extended caps [text, html] max sizes [1048576, 65536]")
        let provide = u32(1 << 28 | 1) + [0x78, 0x9C, 1, 2, 3]
        let provided = try single(
            .serverToClient, [3, 0, 0, 0] + s32(-Int32(provide.count)) + provide, encodings: [clipboard])
        #expect(provided.description == "ServerCutText extended provide [text] (5 bytes compressed)")

        // Without the announcement a negative length is not guessed at.
        var script = RFBScript.connected()
        script.client([6, 0, 0, 0] + s32(-4) + u32(1 << 25 | 1))
        guard case .problem(let problem) = script.parse().last else {
            Issue.record("a negative length without ExtendedClipboard was accepted")
            return
        }
        #expect(problem.kind == .malformed && problem.offset == 14)

        // The 7-byte PointerEvent only once the server confirmed ExtendedMouseButtons.
        var mouse = RFBScript.connected(encodings: [-316])
        mouse.client([5, 0x81] + u16(3) + u16(4))
        mouse.server(update(1) + rect(0, 0, 0, 0, -316))
        mouse.client([5, 0x81] + u16(3) + u16(4) + [0x01])
        let pointers = mouse.messages(after: handshakeMessages + 1).compactMap { parsed -> RFBMessage? in
            if case .pointerEvent = parsed.message { return parsed.message }
            return nil
        }
        #expect(
            pointers == [
                .pointerEvent(buttons: 0x81, x: 3, y: 4, extended: false),
                .pointerEvent(buttons: 0x81, x: 3, y: 4, extended: true),
            ])
        #expect(pointers[1].description == "PointerEvent 3,4 buttons 0x81 (left+back) (extended)")
    }

    @Test("every server message, byte-exact")
    func serverMessages() throws {
        let s = RFBDirection.serverToClient
        #expect(
            try single(s, [1, 0] + u16(16) + u16(2) + [UInt8](repeating: 0x11, count: 12))
                == .setColourMapEntries(firstColour: 16, count: 2))
        #expect(try single(s, [2]) == .bell)
        #expect(
            try single(s, [3, 0, 0, 0] + u32(3) + ascii("abc"))
                == .serverCutText(.text(length: 3, prefix: ascii("abc"))))
        #expect(try single(s, [150]) == .endOfContinuousUpdates)
        #expect(try single(s, [248, 0, 0, 0] + u32(1 << 31) + [0]) == .serverFence(flags: 1 << 31, payload: []))
        #expect(try single(s, [250, 0, 1, 1]) == .xvp(version: 1, code: 1))
        #expect(try single(s, [255, 1] + u16(1)) == .qemuAudio(operation: 1, dataLength: nil))
        #expect(try single(s, [255, 1] + u16(2) + u32(4) + [1, 2, 3, 4]) == .qemuAudio(operation: 2, dataLength: 4))
        #expect(try single(s, update(0)) == .framebufferUpdate(RFBFramebufferUpdate(declaredCount: 0, rectangles: [])))
    }

    @Test("a long cut text is measured, not kept: its prefix is")
    func longCutText() throws {
        let text = [UInt8](repeating: UInt8(ascii: "x"), count: 10_000)
        let message = try single(.clientToServer, [6, 0, 0, 0] + u32(10_000) + text)
        #expect(message == .clientCutText(.text(length: 10_000, prefix: Array(text.prefix(RFBCutText.prefixLimit)))))
        #expect(message.description.hasPrefix("ClientCutText 10000 bytes \"xxx"))
        #expect(message.description.hasSuffix("\"…"))
    }

    @Test("descriptions: KeyEvent, SetEncodings, FramebufferUpdateRequest, PointerEvent")
    func descriptions() {
        #expect(RFBMessage.keyEvent(down: true, keysym: RFBKeysym(0x6F)).description == "KeyEvent 'o' (0x6f) down")
        #expect(
            RFBMessage.keyEvent(down: false, keysym: RFBKeysym(0xFF0D)).description == "KeyEvent Return (0xff0d) up")
        #expect(
            RFBMessage.setEncodings([.tight, .zrle, RFBEncoding(-250), RFBEncoding(-26), .desktopSize, RFBEncoding(99)])
                .description
                == "SetEncodings [Tight, ZRLE, CompressLevel 6, QualityLevel 6, DesktopSize, unknown(99)]")
        #expect(
            RFBMessage.framebufferUpdateRequest(incremental: false, x: 0, y: 0, width: 800, height: 600).description
                == "FramebufferUpdateRequest full 0,0 800x600")
        #expect(
            RFBMessage.pointerEvent(buttons: 0, x: 1, y: 2, extended: false).description
                == "PointerEvent 1,2 buttons 0x00 (none)")
        #expect(
            RFBMessage.serverFence(flags: 1 << 31 | 3, payload: [1]).description
                == "ServerFence [BlockBefore, BlockAfter, Request] payload 1 bytes")
    }
}
