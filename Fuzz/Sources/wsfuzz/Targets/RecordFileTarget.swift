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
/// seeking to every session of the index (trailer or scanned; a forged one is not trusted) and
/// reading on neither traps nor reads a record the file does not hold.
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
            // The header-only walk that checks a trailer's index finds exactly the blocks read, good or corrupt.
            let walked = try reader.blockHeaders(upTo: reader.fileSize)
            for case .block(let offset, let header, _) in blocks {
                FuzzCheck.require(walked[offset] == header, "the header walk misses the block at \(offset)")
            }
            let corrupt = Set(damages.filter { $0.kind == .corruptBlock }.map(\.offset))
            for offset in walked.keys {
                FuzzCheck.require(blocks.contains { if case .block(offset, _, _) = $0 { true } else { false } } || corrupt.contains(offset),
                                  "the header walk finds a block at \(offset) that reading does not")
            }
            let scanned = try RecordFileReader.scanIndex(path: path)
            FuzzCheck.require(scanned == index, "the scanned index is not the index of the blocks read")
            let loaded = try reader.loadIndex()
            if try !reader.hasValidIndex() { FuzzCheck.require(loaded == index, "no trailer, yet the index is not the scanned one") }
            var held = Set<UInt64>()
            for case .block(_, _, .records(let records)) in blocks { records.forEach { held.insert($0.timeMicros) } }
            for (session, entries) in loaded.sessions.prefix(8) {
                let time = entries.first?.firstTimeMicros ?? 0
                _ = try reader.seek(session: session, toTime: time)
                for _ in 0..<4 {
                    guard let record = try reader.nextRecord() else { break }
                    FuzzCheck.require(held.contains(record.timeMicros), "a record after seeking that the file does not hold")
                }
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
