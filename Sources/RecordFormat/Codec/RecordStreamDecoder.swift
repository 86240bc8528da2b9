/// An incremental reader of the recording format: feed it bytes in any split, pull events out.
///
/// It holds at most one block plus one read chunk in memory. Fatal problems (not a recording,
/// an unknown major version, a damaged file header) are thrown; damage after the header is
/// reported as ``Damage`` events and reading continues at the next good block.
public struct RecordStreamDecoder {
    public enum Event: Sendable {
        case header(FileHeader)
        case block(DecodedBlock)
        case damage(Damage)
    }

    /// The file name used in error messages.
    public let path: String?
    public private(set) var header: FileHeader?
    /// File offset just past the last block whose header was valid (used, damaged or skipped).
    public private(set) var lastBlockEnd: UInt64?
    /// Sessions listed by valid headers of blocks that could not be read (unknown kinds/codecs).
    public private(set) var unreadableSessions: Set<UInt32> = []

    private var buffer: [UInt8] = []
    /// Index into `buffer` of the first byte not consumed.
    private var start = 0
    /// File offset of `buffer[0]`.
    private var bufferFileOffset: UInt64 = 0
    /// Start of a run of bytes that are no block, while searching for the next sync.
    private var garbageStart: UInt64?
    private let decompressor = BlockDecompressor()

    /// - Parameter startOffset: file offset of the first byte that will be fed (to resume mid-file,
    ///   pass a block offset and a known header).
    public init(path: String? = nil, startOffset: UInt64 = 0, header: FileHeader? = nil) {
        self.path = path
        self.bufferFileOffset = startOffset
        self.header = header
    }

    /// File offset of the first byte not yet consumed.
    public var consumedOffset: UInt64 { bufferFileOffset + UInt64(start) }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && (start >= buffer.count || start >= 1 << 20) {
            buffer.removeSubrange(0..<start)
            bufferFileOffset += UInt64(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// The next event, or nil when more input is needed.
    public mutating func next() throws(RecordFormatError) -> Event? {
        if header == nil {
            let result = buffer.withUnsafeBytes { FileHeader.parse(UnsafeRawBufferPointer(rebasing: $0[start...])) }
            switch result {
            case .needMore: return nil
            case .failure(let error):
                var located = error.inFile(path)
                located.offset = (error.offset ?? 0) + consumedOffset
                throw located
            case .header(let parsed):
                header = parsed
                start += parsed.encodedLength
                return .header(parsed)
            }
        }
        while true {
            let available = buffer.count - start
            if available < 8 { return nil }
            let step: Step = buffer.withUnsafeBytes { all in
                parseBlock(UnsafeRawBufferPointer(rebasing: all[start...]))
            }
            switch step {
            case .needMore:
                return nil
            case .notABlock:
                if garbageStart == nil { garbageStart = consumedOffset }
                start += skipToNextSync()
            case .block(let block, let length):
                if let damage = takeGarbage() {
                    // Report the garbage first; the block is parsed again on the next call.
                    return .damage(damage)
                }
                start += length
                lastBlockEnd = consumedOffset
                return .block(block)
            case .corrupt(let damage, let length):
                if let garbage = takeGarbage() { return .damage(garbage) }
                start += length
                lastBlockEnd = consumedOffset
                return .damage(damage)
            case .skip(let length, let sessions):
                unreadableSessions.formUnion(sessions)
                if let garbage = takeGarbage() { return .damage(garbage) }
                start += length
                lastBlockEnd = consumedOffset
            }
        }
    }

    /// Call at end of input: reports a torn tail (bytes that never became a whole block), if any.
    public mutating func finish() throws(RecordFormatError) -> Damage? {
        if header == nil {
            let length = buffer.count - start
            throw RecordFormatError(
                length == 0 ? .notARecording : .truncated,
                length == 0 ? "file is empty" : "file ends inside the file header (\(length) bytes)", path: path,
                offset: consumedOffset)
        }
        let leftover = UInt64(buffer.count - start)
        let tailStart = garbageStart ?? consumedOffset
        garbageStart = nil
        guard leftover > 0 || tailStart < consumedOffset else { return nil }
        let end = consumedOffset + leftover
        start = buffer.count
        var recordsLost: Int? = nil
        var detail = "the file ends inside a block"
        if tailStart == end - leftover, leftover >= 8 {
            let partial = buffer.withUnsafeBytes { all in
                BlockHeader.parse(UnsafeRawBufferPointer(rebasing: all[(all.count - Int(leftover))...]))
            }
            if case .header(let h) = partial {
                recordsLost = h.recordCount
                detail = "the file ends inside a block of \(h.recordCount) records (\(h.storedLength) payload bytes)"
            }
        }
        return Damage(kind: .truncated, offset: tailStart, length: end - tailStart, recordsLost: recordsLost, message: detail)
    }

    private mutating func takeGarbage() -> Damage? {
        guard let begin = garbageStart else { return nil }
        garbageStart = nil
        return Damage(
            kind: .garbage, offset: begin, length: consumedOffset - begin, recordsLost: nil,
            message: "bytes that are not a valid block were skipped")
    }

    /// Bytes to skip from `start` to the next possible sync (at least one).
    private func skipToNextSync() -> Int {
        buffer.withUnsafeBytes { all -> Int in
            let bytes = UnsafeRawBufferPointer(rebasing: all[start...])
            var i = 1
            while i + 4 <= bytes.count {
                if bytes[i] == 0x57, loadLE(bytes, i, as: UInt32.self) == BlockHeader.syncWord { return i }
                i += 1
            }
            // Keep a possible partial sync at the end for the next feed.
            return max(1, bytes.count - 3)
        }
    }

    private enum Step {
        case needMore
        case notABlock
        case block(DecodedBlock, Int)
        case corrupt(Damage, Int)
        /// A block of a kind this reader does not know: skipped without a word.
        case skip(Int, [UInt32])
    }

    private func parseBlock(_ bytes: UnsafeRawBufferPointer) -> Step {
        let header: BlockHeader
        switch BlockHeader.parse(bytes) {
        case .needMore: return .needMore
        case .invalid: return .notABlock
        case .unknown(let total, let lost, let reason, let sessions):
            guard bytes.count >= total else { return .needMore }
            if let lost {
                return .corrupt(
                    Damage(
                        kind: .corruptBlock, offset: consumedOffset, length: UInt64(total), recordsLost: lost,
                        message: reason, sessions: sessions), total)
            }
            return .skip(total, sessions)
        case .header(let h): header = h
        }
        let total = header.encodedLength + header.storedLength
        guard bytes.count >= total else { return .needMore }
        let offset = consumedOffset
        let stored = UnsafeRawBufferPointer(rebasing: bytes[header.encodedLength..<total])
        func corrupt(_ message: String) -> Step {
            .corrupt(
                Damage(
                    kind: .corruptBlock, offset: offset, length: UInt64(total),
                    recordsLost: header.kind == .records ? header.recordCount : nil, message: message,
                    sessions: header.sessions), total)
        }
        let crc = crc32Of(stored)
        guard crc == header.payloadCRC else {
            return corrupt("payload CRC-32 mismatch (header \(hex32(header.payloadCRC)), computed \(hex32(crc)))")
        }
        let decodeRaw = { (raw: UnsafeRawBufferPointer) -> Step in
            switch header.kind {
            case .records:
                switch RecordCodec.decodeAll(raw, expectedCount: header.recordCount) {
                case .success(let records):
                    return .block(DecodedBlock(offset: offset, header: header, content: .records(records)), total)
                case .failure(let failure):
                    return corrupt("record at payload byte \(failure.offset): \(failure.message)")
                }
            case .index:
                guard let index = RecordIndex.decode(raw) else { return corrupt("index block is malformed") }
                return .block(DecodedBlock(offset: offset, header: header, content: .index(index)), total)
            case .trailer:
                guard raw.count == 16 else { return corrupt("trailer block is \(raw.count) bytes, expected 16") }
                return .block(
                    DecodedBlock(
                        offset: offset, header: header,
                        content: .trailer(
                            indexOffset: loadLE(raw, 0, as: UInt64.self), indexLength: loadLE(raw, 8, as: UInt64.self))),
                    total)
            case .gap:
                guard let gap = RecordGap.decode(raw, header: header) else { return corrupt("gap block is malformed") }
                return .block(DecodedBlock(offset: offset, header: header, content: .gap(gap)), total)
            }
        }
        switch header.codec {
        case .stored:
            return decodeRaw(stored)
        case .deflate:
            switch decompressor.decompress(stored, expectedLength: header.rawLength) {
            case .success(let raw): return raw.withUnsafeBytes { decodeRaw($0) }
            case .failure(let failure): return corrupt(failure.message)
            }
        }
    }
}
