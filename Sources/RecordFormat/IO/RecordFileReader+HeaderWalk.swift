extension RecordFileReader {
    /// Calls `visit` with the offset and header of each block a reader finds when it reads the file from its first
    /// block (§6), up to the first block that starts past `limit`, until `visit` returns false. Only headers are read:
    /// a block whose header is valid is passed whole (`H + stored length`, its payload unread, as a corrupt one is);
    /// after bytes that are no block header the walk goes on at the next sync bytes, as ``RecordStreamDecoder`` does;
    /// a block that runs past the end of the file ends it. A block of a kind or codec this reader does not know is
    /// visited with a nil header.
    ///
    /// Reads through one small window (a header at a time; 64 KiB while looking for a sync) and holds nothing per
    /// block, so the trailer's index can be checked against a file of any size without reading payloads.
    func walkBlockHeaders(upTo limit: UInt64, _ visit: (UInt64, BlockHeader?) -> Bool) throws(RecordFormatError) {
        var window = ReadWindow(fd: fd, path: path, fileSize: fileSize)
        var position = UInt64(header.encodedLength)
        while position <= limit, position <= fileSize, fileSize - position >= 8 {
            var parsed = try window.parseHeader(at: position, wanting: 256)
            if case .needMore(let more) = parsed, UInt64(more) <= fileSize - position {
                parsed = try window.parseHeader(at: position, wanting: more)
            }
            let total: Int
            let found: BlockHeader?
            switch parsed {
            case .needMore:
                return  // a header cut by the end of the file: the reader's torn tail
            case .invalid:
                guard let next = try window.nextSync(after: position) else { return }
                position = next
                continue
            case .unknown(let length, _, _, _):
                (total, found) = (length, nil)
            case .header(let block):
                (total, found) = (block.encodedLength + block.storedLength, block)
            }
            guard UInt64(total) <= fileSize - position, visit(position, found) else { return }
            position += UInt64(total)
        }
    }

    /// True when `index`, read from the trailer's index block at `indexOffset`, describes this file: that block and
    /// every block the index lists, in file order, are blocks a reader walking the file finds there, the listed ones
    /// records blocks with the header fields the index copied (or of a codec this reader does not know). A forged or
    /// stale index fails, so seeking never starts inside a block, where bytes a full read passes over (the payload of
    /// a corrupt block) could parse as a block of their own. The session entries are not checked: they only choose at
    /// which of these blocks a seek starts.
    func indexDescribesFile(_ index: RecordIndex, indexOffset: UInt64) throws(RecordFormatError) -> Bool {
        var listed = index.blocks.makeIterator()
        var next = listed.next()
        var describes = true
        var indexFound = false
        try walkBlockHeaders(upTo: max(indexOffset, index.blocks.last?.offset ?? 0)) { offset, header in
            if offset == indexOffset { indexFound = header?.kind == .index }
            guard let entry = next, entry.offset <= offset else { return true }
            guard entry.offset == offset else {
                describes = false  // the entry names no block the walk finds
                return false
            }
            if let header {
                describes = header.kind == .records && header.firstWallMicros == entry.firstWallMicros
                    && header.lastWallMicros == entry.lastWallMicros && header.recordCount == entry.recordCount
            }
            next = listed.next()
            return describes
        }
        return describes && indexFound && next == nil
    }
}

/// A window of file bytes the header walk reads through: one read serves the header parses and the sync search
/// that fall inside it.
private struct ReadWindow {
    let fd: Int32
    let path: String
    let fileSize: UInt64
    private var bytes: [UInt8] = []
    private var start: UInt64 = 0
    private var count = 0

    init(fd: Int32, path: String, fileSize: UInt64) {
        self.fd = fd
        self.path = path
        self.fileSize = fileSize
    }

    /// Makes `[offset, offset + wanted)` available (less at the end of the file), reading `wanted` bytes there when
    /// the window does not hold them; returns how many bytes from `offset` the window holds.
    private mutating func cover(_ offset: UInt64, wanting wanted: Int) throws(RecordFormatError) -> Int {
        let end = min(offset + UInt64(wanted), fileSize)
        if offset >= start, end <= start + UInt64(count) { return Int(start + UInt64(count) - offset) }
        if bytes.count < wanted { bytes = [UInt8](repeating: 0, count: wanted) }
        let (fd, path) = (fd, path)
        let read: Result<Int, RecordFormatError> = bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(RecordFormatError) -> Int in
                try SystemFile.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]), at: offset, path: path)
            }
        }
        (start, count) = (offset, try read.get())
        return count
    }

    mutating func parseHeader(at offset: UInt64, wanting wanted: Int) throws(RecordFormatError) -> BlockHeader.ParseResult {
        let available = try cover(offset, wanting: wanted)
        let from = Int(offset - start)
        return bytes.withUnsafeBytes { BlockHeader.parse(UnsafeRawBufferPointer(rebasing: $0[from..<from + available])) }
    }

    /// The offset of the first sync bytes after `offset`, or nil when none follows.
    mutating func nextSync(after offset: UInt64) throws(RecordFormatError) -> UInt64? {
        var from = offset + 1
        while fileSize - min(from, fileSize) >= 4 {
            let available = try cover(from, wanting: 64 << 10)
            let first = Int(from - start)
            let hit = bytes.withUnsafeBytes { all -> Int? in
                var i = first
                while i + 4 <= first + available {
                    if all[i] == 0x57, loadLE(all, i, as: UInt32.self) == BlockHeader.syncWord { return i }
                    i += 1
                }
                return nil
            }
            if let hit { return start + UInt64(hit) }
            if available < 4 { return nil }
            from += UInt64(available - 3)  // sync bytes cut by the window's end are found in the next one
        }
        return nil
    }
}
