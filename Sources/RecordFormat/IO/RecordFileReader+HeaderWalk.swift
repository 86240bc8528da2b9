extension RecordFileReader {
    /// The headers of the blocks a reader finds when it reads the file from its first block (§6), up to the first
    /// block that starts past `limit`, by file offset. Only headers are read: a block whose header is valid is passed
    /// whole (`H + stored length`, its payload unread, as a corrupt one is); after bytes that are no block header the
    /// walk goes on at the next sync bytes, as ``RecordStreamDecoder`` does; a block that runs past the end of the file
    /// ends it. Blocks of kinds this reader does not know are passed without an entry.
    ///
    /// Costs one small read per block (and reads the bytes of damaged stretches while looking for a sync), so the
    /// trailer's index can be checked against the file without reading the payloads.
    func blockHeaders(upTo limit: UInt64) throws(RecordFormatError) -> [UInt64: BlockHeader] {
        var found: [UInt64: BlockHeader] = [:]
        var buffer = [UInt8](repeating: 0, count: 256)
        var position = UInt64(header.encodedLength)
        while position <= limit, fileSize - min(position, fileSize) >= 8 {
            let available = Int(clamping: fileSize - position)
            var wanted = min(available, 256)
            var parsed: BlockHeader.ParseResult = .needMore(8)
            while true {
                if buffer.count < wanted { buffer = [UInt8](repeating: 0, count: wanted) }
                let n = try SystemFile.read(fd, into: &buffer, at: position, path: path)
                parsed = buffer.withUnsafeBytes { BlockHeader.parse(UnsafeRawBufferPointer(rebasing: $0[0..<min(n, wanted)])) }
                guard case .needMore(let more) = parsed, more > wanted, more <= available else { break }
                wanted = more
            }
            switch parsed {
            case .needMore:
                return found  // a header cut by the end of the file: the reader's torn tail
            case .invalid:
                guard let next = try nextSync(after: position) else { return found }
                position = next
            case .unknown(let total, _, _, _):
                guard UInt64(total) <= fileSize - position else { return found }
                position += UInt64(total)
            case .header(let block):
                let total = UInt64(block.encodedLength + block.storedLength)
                guard total <= fileSize - position else { return found }
                found[position] = block
                position += total
            }
        }
        return found
    }

    /// The offset of the first sync bytes after `offset`, or nil when none follows.
    private func nextSync(after offset: UInt64) throws(RecordFormatError) -> UInt64? {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var start = offset + 1
        while start < fileSize {
            let n = try SystemFile.read(fd, into: &chunk, at: start, path: path)
            if n < 4 { return nil }
            let hit = chunk.withUnsafeBytes { bytes -> Int? in
                var i = 0
                while i + 4 <= n {
                    if bytes[i] == 0x57, loadLE(bytes, i, as: UInt32.self) == BlockHeader.syncWord { return i }
                    i += 1
                }
                return nil
            }
            if let hit { return start + UInt64(hit) }
            start += UInt64(n - 3)  // sync bytes cut by the chunk's end are found in the next one
        }
        return nil
    }

    /// True when `index`, read from the trailer's index block at `indexOffset`, describes this file: that block and
    /// every records block the index lists are blocks a reader walking the file finds there, with the header fields
    /// the index copied. A forged or stale index fails, so seeking never starts inside a block, where bytes a full
    /// read passes over (the payload of a corrupt block) could parse as a block of their own.
    func indexDescribesFile(_ index: RecordIndex, indexOffset: UInt64) throws(RecordFormatError) -> Bool {
        let headers = try blockHeaders(upTo: indexOffset)
        guard headers[indexOffset]?.kind == .index else { return false }
        return index.blocks.allSatisfy { entry in
            guard let block = headers[entry.offset] else { return false }
            return block.kind == .records && block.firstWallMicros == entry.firstWallMicros
                && block.lastWallMicros == entry.lastWallMicros && block.recordCount == entry.recordCount
        }
    }
}
