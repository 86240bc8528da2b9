/// The JSON form of messages and problems: a `type` and the message's fields, keys in a fixed
/// order (docs/wsrecord-inspect.md documents them).
extension RFBMessage {
    public var json: RFBJSONObject {
        var o = RFBJSONObject()
        o.add("type", name)
        switch self {
        case .protocolVersion(let version):
            o.add("version", version.description)
        case .securityTypes(let types):
            o.add("security_types", numbers: types.map(\.rawValue))
            o.add("names", strings: types.map { $0.name ?? "" })
        case .securityType(let type), .securityChoice(let type):
            o.add("security_type", type.rawValue)
            o.add("name", json: type.name.map(RFBJSONObject.quoted) ?? "null")
        case .securityFailure(let reason):
            o.add("reason", reason)
        case .vncAuthChallenge, .vncAuthResponse:
            o.add("redacted", true)
        case .securityResult(let status, let reason):
            o.add("status", status)
            o.add("reason", json: reason.map(RFBJSONObject.quoted) ?? "null")
        case .clientInit(let shared):
            o.add("shared", shared)
        case .serverInit(let width, let height, let format, let name):
            o.add("width", width)
            o.add("height", height)
            o.add("pixel_format", Self.json(format))
            o.add("name", name)
        case .setPixelFormat(let format):
            o.add("pixel_format", Self.json(format))
        case .setEncodings(let encodings):
            o.add("encodings", numbers: encodings.map(\.rawValue))
            o.add("names", strings: encodings.map(\.description))
        case .framebufferUpdateRequest(let incremental, let x, let y, let width, let height):
            o.add("incremental", incremental)
            Self.add(&o, x, y, width, height)
        case .keyEvent(let down, let keysym):
            o.add("down", down)
            Self.add(&o, keysym)
        case .pointerEvent(let buttons, let x, let y, let extended):
            o.add("buttons", buttons)
            o.add("x", x)
            o.add("y", y)
            o.add("extended", extended)
        case .clientCutText(let text), .serverCutText(let text):
            Self.add(&o, text)
        case .enableContinuousUpdates(let enable, let x, let y, let width, let height):
            o.add("enable", enable)
            Self.add(&o, x, y, width, height)
        case .clientFence(let flags, let payload), .serverFence(let flags, let payload):
            o.add("flags", flags)
            o.add("payload", numbers: payload)
        case .setDesktopSize(let width, let height, let screens):
            o.add("width", width)
            o.add("height", height)
            o.add("screens", objects: screens.map(Self.json))
        case .qemuExtendedKeyEvent(let down, let keysym, let keycode):
            o.add("down", down)
            Self.add(&o, keysym)
            o.add("keycode", keycode)
        case .qemuAudioControl(let operation, let format):
            o.add("operation", operation)
            if let format {
                o.add("sample_format", format.sampleFormat)
                o.add("channels", format.channels)
                o.add("frequency", format.frequency)
            }
        case .framebufferUpdate(let update):
            o.add("declared_count", update.declaredCount)
            o.add("rectangles", objects: update.rectangles.map(Self.json))
        case .setColourMapEntries(let first, let count):
            o.add("first_colour", first)
            o.add("count", count)
        case .bell, .endOfContinuousUpdates:
            break
        case .qemuAudio(let operation, let length):
            o.add("operation", operation)
            if let length { o.add("data_length", length) }
        case .xvp(let version, let code):
            o.add("version", version)
            o.add("code", code)
        }
        return o
    }

    private static func add(_ o: inout RFBJSONObject, _ x: UInt16, _ y: UInt16, _ width: UInt16, _ height: UInt16) {
        o.add("x", x)
        o.add("y", y)
        o.add("width", width)
        o.add("height", height)
    }

    private static func add(_ o: inout RFBJSONObject, _ keysym: RFBKeysym) {
        o.add("keysym", keysym.rawValue)
        o.add("key", json: keysym.name.map(RFBJSONObject.quoted) ?? "null")
        o.add("char", json: keysym.unicodeScalar.map { RFBJSONObject.quoted(String($0)) } ?? "null")
    }

    private static func add(_ o: inout RFBJSONObject, _ text: RFBCutText) {
        switch text {
        case .text(let length, let prefix):
            o.add("length", length)
            o.add("text", String(prefix.map { Character(Unicode.Scalar($0)) }))
            o.add("text_complete", Int(length) == prefix.count)
        case .extended(let clipboard):
            o.add("extended", true)
            o.add("flags", clipboard.flags)
            o.add("actions", strings: clipboard.actions)
            o.add("formats", strings: clipboard.formats)
            if clipboard.isCaps { o.add("max_sizes", numbers: clipboard.maxSizes) }
            o.add("data_length", clipboard.dataLength)
        }
    }

    static func json(_ format: RFBPixelFormat) -> RFBJSONObject {
        var o = RFBJSONObject()
        o.add("bits_per_pixel", format.bitsPerPixel)
        o.add("depth", format.depth)
        o.add("big_endian", format.bigEndian)
        o.add("true_colour", format.trueColour)
        o.add("red_max", format.redMax)
        o.add("green_max", format.greenMax)
        o.add("blue_max", format.blueMax)
        o.add("red_shift", format.redShift)
        o.add("green_shift", format.greenShift)
        o.add("blue_shift", format.blueShift)
        return o
    }

    static func json(_ screen: RFBScreen) -> RFBJSONObject {
        var o = RFBJSONObject()
        o.add("id", screen.id)
        add(&o, screen.x, screen.y, screen.width, screen.height)
        o.add("flags", screen.flags)
        return o
    }

    static func json(_ rectangle: RFBRectangle) -> RFBJSONObject {
        var o = RFBJSONObject()
        add(&o, rectangle.x, rectangle.y, rectangle.width, rectangle.height)
        o.add("encoding", rectangle.encoding.rawValue)
        o.add("encoding_name", rectangle.encoding.description)
        o.add("offset", rectangle.offset)
        o.add("data_length", rectangle.dataLength)
        switch rectangle.detail {
        case .none: break
        case .copyRect(let x, let y):
            o.add("source_x", x)
            o.add("source_y", y)
        case .desktopName(let name): o.add("name", name)
        case .screens(let screens): o.add("screens", objects: screens.map(json))
        case .ledState(let state): o.add("led_state", state)
        case .tight(let method): o.add("method", method)
        case .h264(let flags): o.add("flags", flags)
        case .vmwareCursor(let type): o.add("cursor_type", type)
        }
        return o
    }
}

extension RFBParseEvent {
    /// `from`, `offset`, `length` and the message's fields; for a problem `type` is `problem`
    /// with `problem` (its kind) and `detail`.
    public var json: RFBJSONObject {
        var o = RFBJSONObject()
        o.add("from", direction.senderName)
        o.add("offset", offset)
        switch self {
        case .message(let parsed):
            o.add("length", parsed.length)
            o.append(contentsOf: parsed.message.json)
        case .problem(let problem):
            o.add("type", "problem")
            o.add("problem", problem.kind.rawValue)
            o.add("detail", problem.detail)
        }
        o.add("description", description)
        return o
    }
}
