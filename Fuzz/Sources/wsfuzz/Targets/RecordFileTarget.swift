#if canImport(Glibc)
    import Glibc
#endif

@testable import RecordFormat

/// `RecordFileReader` (RecordFormat/IO): a `.rec` file read from disk in chunks, with its index
/// (from the trailer, or rebuilt by scanning) and seeking by it.
///
/// Invariants: the records and gaps read are those the stream decoder finds in the same bytes, for
/// any chunk size; the damage reported is the decoder's; a scanned index is the index of the blocks
/// read; the header-only walk that checks a trailer's index finds the blocks read (good or corrupt);
/// a trailer's index equal to the scanned one is trusted; after seeking to a session by the index
/// (the trailer's when trusted, else the scanned one) reading returns exactly what a full read
/// returns from that block on.
enum RecordFileTarget {
    static let target = FuzzTarget(
        name: "record-file",
        summary: "RecordFileReader: same records as the stream decoder for any chunk size; index, trailer and seeking",
        run: { run($0) },
        prepare: { _ = path })

    /// The file each input is written to (one per process; under /dev/shm when it exists).
    nonisolated(unsafe) static var path: String = {
        let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        let path = "\(directory)/wsfuzz-record-file-\(getpid()).rec"
        atexit { unlink(RecordFileTarget.path) }
        return path
    }()

    static func write(_ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        FuzzCheck.require(fd >= 0, "cannot create \(path)")
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            FuzzCheck.require(n > 0, "cannot write \(path)")
            done += n
        }
        close(fd)
    }

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let chunkSize = 64 + Int(input.uint16()) % 4096
        let data = input.rest
        write(data)
        let expected = RecordStreamTarget.decode([data[...]], path: path)
        var blocks: [RecordStreamTarget.Seen] = []
        var damages: [Damage] = []
        do {
            let reader = try RecordFileReader(path: path, chunkSize: chunkSize)
            var index = RecordIndex()
            while let block = try reader.nextBlock() {
                blocks.append(.block(offset: block.offset, header: block.header, content: .init(block.content)))
                index.add(block)
            }
            damages = reader.damages
            // The header-only walk that checks a trailer's index finds exactly the blocks read, good or corrupt
            // (blocks of unknown kinds, which reading passes silently, come with no header).
            var walked: [UInt64: BlockHeader?] = [:]
            try reader.walkBlockHeaders(upTo: reader.fileSize) { offset, header in
                walked[offset] = header
                return true
            }
            for case .block(let offset, let header, _) in blocks {
                FuzzCheck.require(walked[offset] == .some(header), "the header walk misses the block at \(offset)")
            }
            let corrupt = Set(damages.filter { $0.kind == .corruptBlock }.map(\.offset))
            for (offset, header) in walked where header != nil {
                FuzzCheck.require(blocks.contains { if case .block(offset, _, _) = $0 { true } else { false } } || corrupt.contains(offset),
                                  "the header walk finds a block at \(offset) that reading does not")
            }
            let scanned = try RecordFileReader.scanIndex(path: path)
            FuzzCheck.require(scanned == index, "the scanned index is not the index of the blocks read")
            let loaded = try reader.loadIndex()
            let trusted = try reader.hasValidIndex()
            if !trusted { FuzzCheck.require(loaded == index, "no trusted trailer, yet the index is not the scanned one") }
            // A trailer at the end pointing at an index equal to the scanned one must be trusted.
            if case .block(let offset, _, .trailer(let indexOffset, let indexLength))? = blocks.last,
                offset + 64 == reader.fileSize,
                blocks.contains(where: { seen in
                    guard case .block(indexOffset, let header, .index(let listed)) = seen else { return false }
                    return UInt64(header.encodedLength + header.storedLength) == indexLength && listed == scanned
                })
            {
                FuzzCheck.require(trusted, "a trailer's index equal to the scanned one is not trusted")
            }
            // After a seek, reading goes on exactly as a full read does from that block on.
            var recordsByBlock: [(offset: UInt64, records: [Record])] = []
            for case .block(let offset, _, .records(let records)) in blocks { recordsByBlock.append((offset, records)) }
            for (session, entries) in loaded.sessions.prefix(8) {
                let time = entries.first?.firstTimeMicros ?? 0
                guard try reader.seek(session: session, toTime: time),
                    let blockOffset = loaded.blockOffset(session: session, atTime: time)
                else { continue }
                let following = recordsByBlock.filter { $0.offset >= blockOffset }.flatMap(\.records).prefix(4)
                var read: [Record] = []
                while read.count < 4, let record = try reader.nextRecord() { read.append(record) }
                FuzzCheck.require(read == Array(following), "records after a seek that a full read does not give there")
            }
        } catch {
            // The stream decoder must have thrown the same error (or found no header).
            if case .error(let message)? = expected.last {
                FuzzCheck.require(message == "\(error)", "reader: \(error); decoder: \(message)")
            } else {
                FuzzCheck.require(!expected.contains { if case .header = $0 { true } else { false } }, "reader threw \(error) on a file the decoder reads")
            }
            return
        }
        let decoderBlocks = expected.filter { if case .block = $0 { true } else { false } }
        FuzzCheck.require(blocks == decoderBlocks, "the reader's blocks are not the decoder's (chunk size \(chunkSize))")
        let decoderDamages = expected.compactMap { if case .damage(let damage) = $0 { damage } else { nil } }
        FuzzCheck.require(damages == decoderDamages, "the reader's damage is not the decoder's")
    }
}
