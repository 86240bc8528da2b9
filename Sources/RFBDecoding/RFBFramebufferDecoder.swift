import RFB

/// Draws an RFB (VNC) session's screen from its recorded byte streams: feed both directions in
/// recorded order (as to ``RFBSessionParser``, which it uses to find messages) and read
/// ``framebuffer``. Pixel formats of ServerInit and SetPixelFormat (true colour of 8, 16 or 32
/// bits per pixel, either byte order, and colour maps from SetColourMapEntries); encodings Raw,
/// CopyRect, RRE, CoRRE, Hextile, TRLE, ZRLE and Zlib (one zlib stream each per session), Tight
/// (its four streams; JPEG through TurboJPEG) and TightPNG (PNG through libpng); DesktopSize and
/// ExtendedDesktopSize resize, LastRect ends an update; Cursor/XCursor shapes and the pointer
/// (``framebufferWithCursor``). Rectangles in other encodings are passed over and reported
/// (``RFBDecodeProblem``); an encoding whose length is unknown stops the decoding there.
/// Keyframes: ``snapshot()`` and ``init(resumingFrom:)``. No sockets.
public final class RFBFramebufferDecoder {
    /// The screen so far; nil before ServerInit.
    public internal(set) var framebuffer: RFBFramebuffer?
    /// FramebufferUpdates applied.
    public internal(set) var updateCount = 0
    /// Whether the server's stream is no longer followed.
    public internal(set) var isStopped = false
    /// The pointer's shape, once the server sent one (Cursor, XCursor); see ``framebufferWithCursor``.
    public internal(set) var cursor: RFBCursor?
    /// Where the pointer is, once known.
    public internal(set) var pointer: RFBPointerPosition?

    var parser = RFBSessionParser()
    var converter: RFBPixelConverter?
    /// Server bytes not yet dropped; `serverBytes[0]` is at `serverBase` in the server's stream.
    var serverBytes: [UInt8] = []
    var serverBase: UInt64 = 0
    /// Offset up to which the server's bytes are used up.
    var serverConsumed: UInt64 = 0
    /// The session's ZRLE zlib stream (``RFBInflater/brokenAt`` once it broke).
    var zrleStream = RFBInflater()
    /// The Zlib encoding's stream (encoding 6: Raw pixels through one zlib stream).
    var zlibStream = RFBInflater()
    /// Tight's four zlib streams (TightPNG shares them).
    var tightStreams = (0..<4).map { _ in RFBInflater() }
    let jpeg = RFBJPEGDecoder()

    public init() {}

    /// Feeds bytes one side sent; `time` is kept in the problems these bytes complete.
    public func feed(_ direction: RFBDirection, _ bytes: some Collection<UInt8>, time: Double? = nil)
        -> [RFBDecodeProblem]
    {
        guard !(direction == .serverToClient && isStopped) else { return [] }
        // Only server bytes complete an update, and no SetPixelFormat is read while they are fed:
        // an update under way before them was begun in this format, one begun by them in the
        // parser's current one.
        let carried = parser.updateInProgress
        if direction == .serverToClient { serverBytes += bytes }
        var problems: [RFBDecodeProblem] = []
        for event in parser.feed(direction, bytes) {
            handle(event, carried: carried, time: time, into: &problems)
        }
        dropUsedServerBytes()
        return problems
    }

    /// Reports a stream that ends inside a message; call after the last bytes.
    public func finish(time: Double? = nil) -> [RFBDecodeProblem] {
        var problems: [RFBDecodeProblem] = []
        for event in parser.finish() { handle(event, carried: nil, time: time, into: &problems) }
        return problems
    }

    func handle(
        _ event: RFBParseEvent, carried: (offset: UInt64, pixelFormat: RFBPixelFormat?)?, time: Double?,
        into problems: inout [RFBDecodeProblem]
    ) {
        switch event {
        case .problem(let problem):
            if problem.direction == .serverToClient {
                isStopped = true
                problems.append(RFBDecodeProblem(kind: .stopped, offset: problem.offset, time: time, detail: problem.detail))
            } else {
                problems.append(
                    RFBDecodeProblem(kind: .clientNotFollowed, offset: problem.offset, time: time, detail: problem.detail))
            }
        case .message(let parsed) where parsed.direction == .serverToClient && !isStopped:
            switch parsed.message {
            case .serverInit(let width, let height, let format, _):
                use(format)
                if let problem = tooLarge(Int(width), Int(height), at: parsed.offset, time: time) {
                    problems.append(problem)
                } else {
                    framebuffer = RFBFramebuffer(width: Int(width), height: Int(height))
                }
            case .setColourMapEntries(let first, let count):
                setColours(at: parsed.offset, first: Int(first), count: Int(count))
            case .framebufferUpdate(let update):
                let format = carried?.offset == parsed.offset ? carried?.pixelFormat : parser.state.pixelFormat
                if let format { use(format) }
                for rectangle in update.rectangles where !isStopped {
                    if let problem = apply(rectangle) {
                        var problem = problem
                        problem.time = time
                        problems.append(problem)
                    }
                }
                updateCount += 1
            default:
                break
            }
            serverConsumed = parsed.offset + parsed.length
        case .message(let parsed) where parsed.direction == .clientToServer:
            if case .pointerEvent(_, let x, let y, _) = parsed.message {
                pointer = RFBPointerPosition(x: Int(x), y: Int(y))
            }
        case .message:
            break
        }
    }

    /// The largest screen drawn: 64 Mi pixels (256 MiB), e.g. 8192 × 8192.
    public static let maximumPixels = 1 << 26

    /// A problem that stops the decoding if a screen of this size is not drawn.
    private func tooLarge(_ width: Int, _ height: Int, at offset: UInt64, rectangle: RFBRectangle? = nil, time: Double?)
        -> RFBDecodeProblem?
    {
        guard width * height > Self.maximumPixels else { return nil }
        isStopped = true
        return RFBDecodeProblem(
            kind: .stopped, offset: offset, rectangle: rectangle, time: time,
            detail: "a \(width)x\(height) screen is larger than the \(Self.maximumPixels) pixels drawn")
    }

    /// Reads pixels in `format` from now on, keeping the colour map.
    private func use(_ format: RFBPixelFormat) {
        guard converter?.format != format else { return }
        let previous = converter
        converter = RFBPixelConverter(format)
        if let previous { converter?.keepColourMap(of: previous) }
    }

    private func setColours(at offset: UInt64, first: Int, count: Int) {
        let start = Int(offset - serverBase) + 6
        guard start + count * 6 <= serverBytes.count else { return }
        let colours = (0..<count).map { i in
            let at = start + i * 6
            let channel = { (k: Int) in UInt16(self.serverBytes[at + k]) << 8 | UInt16(self.serverBytes[at + k + 1]) }
            return (red: channel(0), green: channel(2), blue: channel(4))
        }
        converter?.setColours(first: first, colours)
    }

    /// Draws one rectangle; nil when it was drawn (or changes nothing on the screen).
    private func apply(_ rectangle: RFBRectangle) -> RFBDecodeProblem? {
        guard var screen = framebuffer else {
            return RFBDecodeProblem(
                kind: .malformed, offset: rectangle.offset, rectangle: rectangle, detail: "a rectangle before ServerInit")
        }
        defer { framebuffer = screen }
        let x = Int(rectangle.x)
        let y = Int(rectangle.y)
        let w = Int(rectangle.width)
        let h = Int(rectangle.height)
        func problem(_ kind: RFBDecodeProblem.Kind, _ detail: String) -> RFBDecodeProblem {
            RFBDecodeProblem(kind: kind, offset: rectangle.offset, rectangle: rectangle, detail: detail)
        }
        let inside = screen.contains(x: x, y: y, width: w, height: h)
        let outside = "it lies outside the \(screen.width)x\(screen.height) framebuffer"
        switch rectangle.encoding {
        case .desktopSize, .extendedDesktopSize:
            // An ExtendedDesktopSize's y is the status of a change the client asked for: only 0
            // means the size is now this.
            guard rectangle.encoding == .desktopSize || rectangle.y == 0 else { return nil }
            if let problem = tooLarge(w, h, at: rectangle.offset, rectangle: rectangle, time: nil) { return problem }
            screen.resize(width: w, height: h)
            return nil
        case .copyRect:
            guard case .copyRect(let sourceX, let sourceY) = rectangle.detail else { return nil }
            guard inside, screen.contains(x: Int(sourceX), y: Int(sourceY), width: w, height: h) else {
                return problem(.malformed, "it or its source (\(sourceX),\(sourceY)) lies outside the "
                    + "\(screen.width)x\(screen.height) framebuffer")
            }
            screen.copy(fromX: Int(sourceX), fromY: Int(sourceY), toX: x, toY: y, width: w, height: h)
            return nil
        case .raw, .rre, .coRRE, .hextile, .zrle, .tight, .tightPNG, .trle, .zlib:
            guard let converter else { return problem(.malformed, "pixel data without a usable pixel format") }
            // Rectangles of zlib streams are inflated even outside, to keep their stream in step.
            if !Self.streamed.contains(rectangle.encoding), !inside { return problem(.malformed, outside) }
            let start = Int(rectangle.offset + 12 - serverBase)
            let end = start + Int(rectangle.dataLength)
            let decoded: Result<[UInt32], DecodeFailure> = serverBytes.withUnsafeBufferPointer { all in
                let data = UnsafeBufferPointer(rebasing: all[start..<end])
                do throws(DecodeFailure) {
                    return .success(try decode(rectangle, data, converter, draw: inside))
                } catch {
                    return .failure(error)
                }
            }
            switch decoded {
            case .success(let pixels):
                guard inside else { return problem(.malformed, outside) }
                screen.put(x: x, y: y, width: w, height: h, pixels)
                return nil
            case .failure(let failure):
                return problem(failure.kind, failure.message)
            }
        case .lastRect:
            return nil
        case .pointerPosition:
            pointer = RFBPointerPosition(x: x, y: y)
            return nil
        case .cursor, .xCursor:
            let start = Int(rectangle.offset + 12 - serverBase)
            let end = start + Int(rectangle.dataLength)
            let failure: String? = serverBytes.withUnsafeBufferPointer { all in
                var reader = RFBDataReader(UnsafeBufferPointer(rebasing: all[start..<end]))
                do {
                    try setCursor(rectangle, &reader, converter)
                    return nil
                } catch let failure as DecodeFailure {
                    return failure.message
                } catch {
                    return "its data ends early"
                }
            }
            return failure.map { problem(.malformed, $0) }
        default:
            if rectangle.encoding.isPseudo { return nil }
            return problem(.notDecoded, "this decoder does not draw \(rectangle.encoding) rectangles")
        }
    }

    /// Encodings whose data continues a zlib stream of the session.
    static let streamed: Set<RFBEncoding> = [.zrle, .tight, .tightPNG, .zlib]

    /// Why a rectangle's pixels could not be decoded.
    struct DecodeFailure: Error {
        var kind: RFBDecodeProblem.Kind = .malformed
        var message: String
    }

    /// The rectangle's pixels; with `draw` false only what keeps a stream in step is done (an
    /// empty result).
    private func decode(
        _ rectangle: RFBRectangle, _ data: UnsafeBufferPointer<UInt8>, _ converter: RFBPixelConverter, draw: Bool
    ) throws(DecodeFailure) -> [UInt32]
    {
        let w = Int(rectangle.width)
        let h = Int(rectangle.height)
        do {
            var reader = RFBDataReader(data)
            switch rectangle.encoding {
            case .raw: return try Self.raw(&reader, width: w, height: h, converter)
            case .rre: return try Self.rre(&reader, width: w, height: h, converter, compact: false)
            case .coRRE: return try Self.rre(&reader, width: w, height: h, converter, compact: true)
            case .hextile: return try Self.hextile(&reader, width: w, height: h, converter)
            case .tight, .tightPNG: return try tight(&reader, rectangle, converter, draw: draw)
            case .trle: return try Self.zrleTiles(&reader, width: w, height: h, converter, trle: true)
            case .zlib: return try zlib(&reader, at: rectangle.offset, width: w, height: h, converter, draw: draw)
            default: return try zrle(&reader, at: rectangle.offset, width: w, height: h, converter, draw: draw)
            }
        } catch let overrun as RFBDataReader.Overrun {
            throw DecodeFailure(
                message: "its data ends early: \(overrun.needed) bytes wanted at byte \(overrun.at) of \(data.count)")
        } catch let failure as DecodeFailure {
            throw failure
        } catch {
            throw DecodeFailure(message: "\(error)")
        }
    }

    static func raw(_ reader: inout RFBDataReader, width: Int, height: Int, _ converter: RFBPixelConverter)
        throws(RFBDataReader.Overrun) -> [UInt32]
    {
        var pixels = [UInt32]()
        pixels.reserveCapacity(width * height)
        for _ in 0..<width * height { pixels.append(try reader.colour(converter)) }
        return pixels
    }

    /// Drops server bytes that no message needs any more (once a good share is used up).
    func dropUsedServerBytes() {
        let used = Int(min(serverConsumed - serverBase, UInt64(serverBytes.count)))
        guard used > 0, used == serverBytes.count || used >= 1 << 20 else { return }
        serverBytes.removeFirst(used)
        serverBase += UInt64(used)
    }
}
