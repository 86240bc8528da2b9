/// Finds where one FramebufferUpdate rectangle's data ends, encoding by encoding, without
/// decoding pixels: fixed sizes and length prefixes are skipped, tiled encodings (Hextile,
/// ZlibHex, TRLE) and JPEG are walked. Works on whatever bytes have arrived and resumes.
struct RFBRectangleWalker: Sendable {
    /// Why a rectangle cannot be walked.
    struct Failure: Error, Sendable {
        var kind: RFBParseProblem.Kind
        var why: String
    }

    enum Outcome {
        /// Needs more bytes.
        case blocked
        /// Moved on (maybe leaving bytes to skip); step again.
        case advanced
        /// The data ended here.
        case done(RFBRectangle.Detail)
        case failed(RFBParseProblem.Kind, String)
    }

    private let width: Int
    private let height: Int
    /// Bytes of a PIXEL, CPIXEL and TPIXEL in the update's pixel format (0 when it has none).
    private let pixel: Int
    private let cPixel: Int
    private let tPixel: Int
    private var stage: Stage

    private enum Stage: Sendable {
        /// Data whose length is known up front: skip it.
        case skip(UInt64, RFBRectangle.Detail)
        /// The data has been skipped (or read): done once the skip is over.
        case finish(RFBRectangle.Detail)
        case copyRect
        /// RRE (8 bytes of geometry per subrectangle) or CoRRE (4).
        case rre(geometry: Int)
        /// A U32 length, then that many bytes (ZRLE, ZYWRLE, zlib).
        case lengthPrefixed
        case hextile(tile: Int, zlib: Bool)
        case trle(tile: Int, palette: Int?, runs: Runs?)
        case tight(png: Bool)
        case h264
        case jpeg(JPEGStage)
        case vmwareCursor
        case desktopName
        case extendedDesktopSize
        case ledState
    }

    /// TRLE run-length tile in progress: pixels still to cover; palette size (nil: plain RLE).
    private struct Runs: Sendable {
        var pixelsLeft: Int
        var palette: Int?
    }

    private enum JPEGStage: Sendable {
        /// Expecting 0xFF, then the marker type (the first must be SOI).
        case marker(first: Bool)
        case type(first: Bool)
        /// A marker segment's U16 length.
        case length(UInt8)
        /// Entropy-coded data after SOS, up to the next marker; `afterFF` when the last byte was 0xFF.
        case entropy(afterFF: Bool)
    }

    private init(width: Int, height: Int, format: RFBPixelFormat?, stage: Stage) {
        self.width = width
        self.height = height
        pixel = format?.bytesPerPixel ?? 0
        cPixel = format?.bytesPerCPixel ?? 0
        tPixel = format?.bytesPerTPixel ?? 0
        self.stage = stage
    }

    /// The walker for `rectangle`'s encoding, or why its length cannot be known.
    static func make(for rectangle: RFBRectangle, format: RFBPixelFormat?) -> Result<RFBRectangleWalker, Failure> {
        let w = UInt64(rectangle.width)
        let h = UInt64(rectangle.height)
        let area = w * h
        let maskBytes = (w + 7) / 8 * h
        let pixel = UInt64(format?.bytesPerPixel ?? 0)
        let stage: Stage
        switch rectangle.encoding {
        case .raw: stage = .skip(area * pixel, .none)
        case .copyRect: stage = .copyRect
        case .rre: stage = .rre(geometry: 8)
        case .coRRE: stage = .rre(geometry: 4)
        case .hextile: stage = .hextile(tile: 0, zlib: false)
        case .zlibHex: stage = .hextile(tile: 0, zlib: true)
        case .zlib, .zrle, .zywrle: stage = .lengthPrefixed
        case .trle: stage = .trle(tile: 0, palette: nil, runs: nil)
        case .tight: stage = .tight(png: false)
        case .tightPNG: stage = .tight(png: true)
        case .h264: stage = .h264
        case .jpeg: stage = .jpeg(.marker(first: true))
        case .cursor: stage = .skip(area * pixel + maskBytes, .none)
        // An empty X cursor has no colours either (what libvncserver sends and clients expect).
        case .xCursor: stage = .skip(area == 0 ? 0 : 6 + 2 * maskBytes, .none)
        case .vmwareCursor: stage = .vmwareCursor
        case .desktopName: stage = .desktopName
        case .extendedDesktopSize: stage = .extendedDesktopSize
        case .qemuLEDState: stage = .ledState
        case .desktopSize, .lastRect, .pointerPosition, .qemuPointerMotionChange, .qemuExtendedKeyEvent, .qemuAudio,
            .extendedMouseButtons:
            stage = .finish(.none)
        default:
            return .failure(
                Failure(
                    kind: .unknown,
                    why: "encoding \(rectangle.encoding.rawValue) (\(rectangle.encoding)) has no known data length"))
        }
        if Self.needsPixels(stage), format?.bytesPerPixel == nil {
            let bits = format.map { "\($0.bitsPerPixel) bits per pixel" } ?? "no pixel format"
            return .failure(Failure(kind: .malformed, why: "pixel data with \(bits)"))
        }
        return .success(RFBRectangleWalker(width: Int(w), height: Int(h), format: format, stage: stage))
    }

    private static func needsPixels(_ stage: Stage) -> Bool {
        switch stage {
        case .copyRect, .lengthPrefixed, .h264, .jpeg, .desktopName, .extendedDesktopSize, .ledState, .finish: false
        case .skip(let length, _): length > 0
        default: true
        }
    }

    mutating func step(_ q: inout RFBByteQueue) -> Outcome {
        switch stage {
        case .finish(let detail):
            return .done(detail)
        case .skip(let length, let detail):
            q.skip(length)
            stage = .finish(detail)
            return .advanced
        case .copyRect:
            guard q.count >= 4 else { return .blocked }
            let detail = RFBRectangle.Detail.copyRect(sourceX: q.u16(0), sourceY: q.u16(2))
            q.consume(4)
            return .done(detail)
        case .rre(let geometry):
            guard q.count >= 4 + pixel else { return .blocked }
            let count = UInt64(q.u32(0))
            q.consume(4 + pixel)
            return skip(count * UInt64(pixel + geometry), &q)
        case .lengthPrefixed:
            guard q.count >= 4 else { return .blocked }
            let length = UInt64(q.u32(0))
            q.consume(4)
            return skip(length, &q)
        case .hextile(let tile, let zlib):
            return hextileStep(tile: tile, zlib: zlib, &q)
        case .trle(let tile, let palette, let runs):
            if let runs { return trleRunsStep(tile: tile, palette: palette, runs: runs, &q) }
            return trleTileStep(tile: tile, palette: palette, &q)
        case .tight(let png):
            return tightStep(png: png, &q)
        case .h264:
            guard q.count >= 8 else { return .blocked }
            let length = UInt64(q.u32(0))
            let flags = q.u32(4)
            q.consume(8)
            return skip(length, &q, then: .h264(flags: flags))
        case .jpeg(let jpeg):
            return jpegStep(jpeg, &q)
        case .vmwareCursor:
            guard q.count >= 2 else { return .blocked }
            let type = q[0]
            let area = UInt64(width * height)
            let length: UInt64
            switch type {
            case 0: length = 2 * area * UInt64(pixel)  // AND mask and XOR image, one PIXEL each
            case 1: length = 4 * area  // RGBA
            default: return .failed(.unknown, "VMware cursor type \(type) is not known")
            }
            q.consume(2)
            return skip(length, &q, then: .vmwareCursor(type: type))
        case .desktopName:
            guard q.count >= 4 else { return .blocked }
            let length = q.u32(0)
            let keep = Int(min(UInt64(length), UInt64(RFBSessionParser.stringLimit)))
            guard q.count >= 4 + keep else { return .blocked }
            let name = String(decoding: q.bytes(4, keep), as: UTF8.self)
            q.consume(4 + keep)
            return skip(UInt64(length) - UInt64(keep), &q, then: .desktopName(name))
        case .extendedDesktopSize:
            guard q.count >= 4 else { return .blocked }
            let count = Int(q[0])
            guard q.count >= 4 + 16 * count else { return .blocked }
            let screens = (0..<count).map { RFBSessionParser.screen(q, at: 4 + 16 * $0) }
            q.consume(4 + 16 * count)
            return .done(.screens(screens))
        case .ledState:
            guard q.count >= 1 else { return .blocked }
            let state = q[0]
            q.consume(1)
            return .done(.ledState(state))
        }
    }

    /// Skips `length` bytes, then finishes with `detail`.
    private mutating func skip(_ length: UInt64, _ q: inout RFBByteQueue, then detail: RFBRectangle.Detail = .none)
        -> Outcome
    {
        q.skip(length)
        stage = .finish(detail)
        return .advanced
    }

    /// Width and height of tile `index` when the rectangle is cut in `size`×`size` tiles, or nil
    /// past the last tile.
    private func tile(_ index: Int, size: Int) -> (width: Int, height: Int)? {
        let columns = (width + size - 1) / size
        let rows = (height + size - 1) / size
        guard index < columns * rows else { return nil }
        let column = index % columns
        let row = index / columns
        return (min(size, width - column * size), min(size, height - row * size))
    }

    // MARK: Hextile and ZlibHex (RFC 6143 §7.7.4, rfbproto zlibhex)

    private mutating func hextileStep(tile index: Int, zlib: Bool, _ q: inout RFBByteQueue) -> Outcome {
        guard let (tw, th) = tile(index, size: 16) else { return .done(.none) }
        guard q.count >= 1 else { return .blocked }
        let mask = q[0]
        let read: Int
        let skipped: UInt64
        if zlib && mask & 0x60 != 0 && mask & 0x80 == 0 {
            // ZlibRaw or Zlib: a U16 length and compressed data replace the tile's contents.
            guard q.count >= 3 else { return .blocked }
            read = 3
            skipped = UInt64(q.u16(1))
        } else if mask & 0xE0 != 0 {
            let name = zlib ? "ZlibHex" : "Hextile"
            return .failed(.malformed, "\(name) subencoding 0x\(String(mask, radix: 16)) has undefined bits")
        } else if mask & 1 != 0 {
            read = 1
            skipped = UInt64(tw * th * pixel)
        } else {
            // Background and foreground pixels if specified, then the subrectangle count.
            let header = 1 + (mask & 2 != 0 ? pixel : 0) + (mask & 4 != 0 ? pixel : 0)
            if mask & 8 != 0 {
                guard q.count >= header + 1 else { return .blocked }
                read = header + 1
                skipped = UInt64(q[header]) * UInt64(mask & 16 != 0 ? pixel + 2 : 2)
            } else {
                guard q.count >= header else { return .blocked }
                read = header
                skipped = 0
            }
        }
        q.consume(read)
        q.skip(skipped)
        stage = .hextile(tile: index + 1, zlib: zlib)
        return .advanced
    }

    // MARK: TRLE (RFC 6143 §7.7.5)

    /// Bytes of a packed-palette tile's pixels: 1, 2 or 4 bits each, rows padded to a byte.
    private static func packedSize(palette: Int, width: Int, height: Int) -> Int {
        let bits = palette <= 2 ? 1 : palette <= 4 ? 2 : 4
        return (width * bits + 7) / 8 * height
    }

    private mutating func trleTileStep(tile index: Int, palette: Int?, _ q: inout RFBByteQueue) -> Outcome {
        guard let (tw, th) = tile(index, size: 16) else { return .done(.none) }
        guard q.count >= 1 else { return .blocked }
        let subencoding = Int(q[0])
        let pixels = tw * th
        var next = palette
        var runs: Runs?
        var length = 0
        switch subencoding {
        case 0: length = pixels * cPixel
        case 1:
            length = cPixel
            next = 1
        case 2...16:
            length = subencoding * cPixel + Self.packedSize(palette: subencoding, width: tw, height: th)
            next = subencoding
        case 127:
            guard let palette, palette >= 2 else {
                return .failed(.malformed, "TRLE tile \(index) reuses a palette it does not have")
            }
            length = Self.packedSize(palette: palette, width: tw, height: th)
        case 128:
            runs = Runs(pixelsLeft: pixels, palette: nil)
        case 129:
            guard let palette else {
                return .failed(.malformed, "TRLE tile \(index) reuses a palette it does not have")
            }
            runs = Runs(pixelsLeft: pixels, palette: palette)
        case 130...255:
            length = (subencoding - 128) * cPixel
            next = subencoding - 128
            runs = Runs(pixelsLeft: pixels, palette: subencoding - 128)
        default:
            return .failed(.malformed, "TRLE subencoding \(subencoding) is not defined")
        }
        q.consume(1)
        q.skip(UInt64(length))
        stage = .trle(tile: index + 1, palette: next, runs: runs)
        return .advanced
    }

    /// Reads as many complete runs as have arrived.
    private mutating func trleRunsStep(tile: Int, palette: Int?, runs: Runs, _ q: inout RFBByteQueue) -> Outcome {
        var runs = runs
        var progressed = false
        runs: while runs.pixelsLeft > 0 {
            // A run: a CPIXEL (plain RLE) or a palette index byte; then, for plain RLE and for an
            // index with the top bit set, the length: bytes of 255 and a last byte, plus one.
            var index = cPixel
            var long = true
            if let size = runs.palette {
                guard q.count >= 1 else { break }
                let entry = Int(q[0] & 0x7F)
                guard entry < size else {
                    return .failed(.malformed, "TRLE run uses palette entry \(entry) of \(size)")
                }
                long = q[0] & 0x80 != 0
                index = 1
            }
            var length = 1
            if long {
                var sum = 0
                while true {
                    guard q.count > index else { break runs }
                    let byte = Int(q[index])
                    index += 1
                    sum += byte
                    guard sum < runs.pixelsLeft else {
                        return .failed(
                            .malformed, "TRLE run longer than the \(runs.pixelsLeft) pixels left in its tile")
                    }
                    if byte != 255 { break }
                }
                length += sum
            }
            q.consume(index)
            runs.pixelsLeft -= length
            progressed = true
        }
        stage = .trle(tile: tile, palette: palette, runs: runs.pixelsLeft > 0 ? runs : nil)
        return progressed ? .advanced : .blocked
    }

    // MARK: Tight and TightPNG (rfbproto)

    /// A compact length (1–3 bytes) at `index`: its value and size, or nil until all have arrived.
    private static func compactLength(_ q: RFBByteQueue, at index: Int) -> (value: UInt64, size: Int)? {
        guard q.count > index else { return nil }
        var value = UInt64(q[index] & 0x7F)
        guard q[index] & 0x80 != 0 else { return (value, 1) }
        guard q.count > index + 1 else { return nil }
        value |= UInt64(q[index + 1] & 0x7F) << 7
        guard q[index + 1] & 0x80 != 0 else { return (value, 2) }
        guard q.count > index + 2 else { return nil }
        return (value | UInt64(q[index + 2]) << 14, 3)
    }

    private mutating func tightStep(png: Bool, _ q: inout RFBByteQueue) -> Outcome {
        guard q.count >= 1 else { return .blocked }
        let control = q[0]
        let method = control >> 4
        if method == 8 {
            guard q.count >= 1 + tPixel else { return .blocked }
            q.consume(1 + tPixel)
            return .done(.tight("fill"))
        }
        if method == 9 || (method == 10 && png) {
            guard let (length, size) = Self.compactLength(q, at: 1) else { return .blocked }
            q.consume(1 + size)
            return skip(length, &q, then: .tight(method == 9 ? "jpeg" : "png"))
        }
        guard method & 8 == 0 else {
            return .failed(.malformed, "Tight compression control 0x\(String(control, radix: 16)) is not defined")
        }
        var header = 1
        var filter: UInt8 = 0
        if method & 4 != 0 {
            guard q.count >= 2 else { return .blocked }
            filter = q[1]
            header = 2
        }
        let pixels = width * height
        let dataSize: Int
        let name: String
        switch filter {
        case 0:
            dataSize = pixels * tPixel
            name = "basic copy"
        case 1:
            guard q.count >= header + 1 else { return .blocked }
            let colours = Int(q[header]) + 1
            header += 1 + colours * tPixel
            dataSize = colours <= 2 ? (width + 7) / 8 * height : pixels
            name = "basic palette \(colours)"
        case 2:
            dataSize = pixels * tPixel
            name = "basic gradient"
        default:
            return .failed(.malformed, "Tight filter \(filter) is not defined")
        }
        // Under 12 bytes the data is sent as it is; otherwise zlib data with a compact length.
        guard dataSize >= 12 else {
            guard q.count >= header else { return .blocked }
            q.consume(header)
            return skip(UInt64(dataSize), &q, then: .tight(name))
        }
        guard let (length, size) = Self.compactLength(q, at: header) else { return .blocked }
        q.consume(header + size)
        return skip(length, &q, then: .tight(name))
    }

    // MARK: JPEG (encoding 21: a JFIF stream, walked marker by marker up to EOI)

    private mutating func jpegStep(_ jpeg: JPEGStage, _ q: inout RFBByteQueue) -> Outcome {
        switch jpeg {
        case .marker(let first):
            guard q.count >= 1 else { return .blocked }
            guard q[0] == 0xFF else {
                return .failed(.malformed, "JPEG data has 0x\(String(q[0], radix: 16)) where a marker should start")
            }
            q.consume(1)
            stage = .jpeg(.type(first: first))
            return .advanced
        case .type(let first):
            guard q.count >= 1 else { return .blocked }
            let type = q[0]
            q.consume(1)
            if type == 0xFF { return .advanced }  // fill byte before a marker
            if first && type != 0xD8 { return .failed(.malformed, "JPEG data does not start with SOI") }
            return marker(type)
        case .length(let type):
            guard q.count >= 2 else { return .blocked }
            let length = Int(q.u16(0))
            guard length >= 2 else { return .failed(.malformed, "JPEG segment length \(length)") }
            q.consume(2)
            q.skip(UInt64(length - 2))
            stage = .jpeg(type == 0xDA ? .entropy(afterFF: false) : .marker(first: false))
            return .advanced
        case .entropy(var afterFF):
            var scanned = 0
            while scanned < q.count {
                let byte = q[scanned]
                scanned += 1
                if afterFF {
                    // 0xFF00 is a stuffed 0xFF, 0xFFD0–D7 restart markers, 0xFFFF fill: still data.
                    if byte == 0 || (0xD0...0xD7).contains(byte) {
                        afterFF = false
                    } else if byte != 0xFF {
                        q.consume(scanned)
                        return marker(byte)
                    }
                } else if byte == 0xFF {
                    afterFF = true
                }
            }
            q.consume(scanned)
            stage = .jpeg(.entropy(afterFF: afterFF))
            return scanned > 0 ? .advanced : .blocked
        }
    }

    /// After a marker's type byte: EOI ends the image, standalone markers have no length.
    private mutating func marker(_ type: UInt8) -> Outcome {
        if type == 0xD9 { return .done(.none) }
        stage = .jpeg(type == 0x01 || (0xD0...0xD8).contains(type) ? .marker(first: false) : .length(type))
        return .advanced
    }
}
