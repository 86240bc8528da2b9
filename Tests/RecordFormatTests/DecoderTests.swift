import Foundation
import RecordTestSupport
import Testing

@testable import RecordFormat

@Suite("Incremental decoding and damage")
struct DecoderTests {
    /// A small multi-block file of the sample records.
    static func smallFile() throws -> [UInt8] {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 64  // nearly one block per record
        return try writeRecording(sampleRecords(), to: dir.appendingPathComponent("small.rec").path, configuration: configuration)
    }

    @Test("bytes fed one at a time decode like all at once")
    func byteAtATime() throws {
        let bytes = try Self.smallFile()
        let whole = try decodeAll(bytes, chunk: bytes.count)
        let single = try decodeAll(bytes, chunk: 1)
        let odd = try decodeAll(bytes, chunk: 7)
        #expect(whole.records == sampleRecords())
        #expect(single.records == whole.records)
        #expect(odd.records == whole.records)
        #expect(whole.damages.isEmpty && single.damages.isEmpty && odd.damages.isEmpty)
        #expect(single.blocks.count == whole.blocks.count)
    }

    @Test("truncating at every byte offset yields a prefix of the records and never crashes")
    func truncationEverywhere() throws {
        let bytes = try Self.smallFile()
        let all = sampleRecords()
        let full = try decodeAll(bytes, chunk: bytes.count)
        let boundaries = Set(full.blocks.map { Int($0.offset) + $0.totalLength })
        let headerLength = Int(try #require(full.blocks.first).offset)
        for cut in 0..<bytes.count {
            let prefix = Array(bytes[..<cut])
            if cut < headerLength {
                #expect(throws: RecordFormatError.self) { try decodeAll(prefix, chunk: 4096) }
                continue
            }
            let result = try decodeAll(prefix, chunk: 4096)
            #expect(Array(all.prefix(result.records.count)) == result.records, "cut at \(cut)")
            if cut == headerLength || boundaries.contains(cut) {
                #expect(result.damages.isEmpty, "cut at block boundary \(cut)")
            } else {
                #expect(result.damages.count == 1, "cut at \(cut)")
                #expect(result.damages.first?.kind == .truncated)
                let lastEnd = ([headerLength] + boundaries.filter { $0 <= cut }).max()!
                #expect(result.damages.first?.offset == UInt64(lastEnd), "torn tail starts at the last good block end")
            }
        }
    }

    @Test("every flipped bit is detected: nothing damaged is returned as a record")
    func bitFlips() throws {
        let bytes = try Self.smallFile()
        let all = sampleRecords()
        let headerLength = Int(try #require(try decodeAll(bytes, chunk: bytes.count).blocks.first).offset)
        var detected = 0
        for position in 0..<bytes.count {
            for bit in 0..<8 {
                var damaged = bytes
                damaged[position] ^= UInt8(1 << bit)
                if position < headerLength {
                    #expect(throws: RecordFormatError.self) { try decodeAll(damaged, chunk: 4096) }
                    detected += 1
                    continue
                }
                let result = try decodeAll(damaged, chunk: 4096)
                // Every record returned is an original one, in order; something is reported as damage.
                var originals = all[...]
                for record in result.records {
                    guard let at = originals.firstIndex(of: record) else {
                        Issue.record("flip at \(position) bit \(bit) produced a record that was never written")
                        break
                    }
                    originals = originals[(at + 1)...]
                }
                if !result.damages.isEmpty { detected += 1 }
                // Flips inside the index or trailer blocks lose no records but are still reported.
                #expect(!result.damages.isEmpty, "flip at \(position) bit \(bit) went unnoticed")
            }
        }
        #expect(detected == bytes.count * 8)
    }

    @Test("garbage between blocks is skipped and reported; later blocks are read")
    func garbageBetweenBlocks() throws {
        let bytes = try Self.smallFile()
        let full = try decodeAll(bytes, chunk: bytes.count)
        try #require(full.blocks.count > 3, "blocks decoded: \(full.blocks.count)")
        let splitAt = Int(full.blocks[3].offset)
        let garbage: [UInt8] = Array("WSBK-not-a-header, just noise".utf8)
        let spliced = Array(bytes[..<splitAt]) + garbage + Array(bytes[splitAt...])
        for chunk in [1, 5, 4096] {
            let result = try decodeAll(spliced, chunk: chunk)
            #expect(result.records == sampleRecords())
            #expect(result.damages.count == 1)
            #expect(result.damages.first?.kind == .garbage)
            #expect(result.damages.first?.offset == UInt64(splitAt))
            #expect(result.damages.first?.length == UInt64(garbage.count))
        }
    }

    @Test("a block with a bad payload is skipped whole and reading goes on")
    func corruptBlockSkipped() throws {
        let bytes = try Self.smallFile()
        let full = try decodeAll(bytes, chunk: bytes.count)
        try #require(full.blocks.count > 2, "blocks decoded: \(full.blocks.count)")
        let victim = full.blocks[2]
        var damaged = bytes
        damaged[Int(victim.offset) + victim.header.encodedLength] ^= 0x40
        let result = try decodeAll(damaged, chunk: 4096)
        guard case .records(let lost) = victim.content else { Issue.record("block 2 holds records"); return }
        #expect(result.records == sampleRecords().filter { !lost.contains($0) })
        #expect(result.damages.count == 1)
        #expect(result.damages.first?.kind == .corruptBlock)
        #expect(result.damages.first?.offset == victim.offset)
        #expect(result.damages.first?.recordsLost == lost.count)
        #expect(result.damages.first?.message.contains("CRC-32") == true)
    }

    @Test("a declared length of a gigabyte is refused without allocating it")
    func hugeDeclaredLength() throws {
        let bytes = try Self.smallFile()
        let full = try decodeAll(bytes, chunk: bytes.count)
        // A header claiming 2 GiB raw is impossible even with a valid CRC.
        let first = try #require(full.blocks.first)
        var header = first.header
        header.rawLength = 1 << 31 - 1
        header.storedLength = header.rawLength
        header.codec = .stored
        var forged = Array(bytes[..<Int(first.offset)]) + header.encoded()
        forged += [UInt8](repeating: 0, count: 100)
        let result = try decodeAll(forged, chunk: 4096)
        #expect(result.records.isEmpty)
        #expect(result.damages.count == 1)
    }

    /// A block header with any kind and codec bytes, its CRC made valid.
    static func forgedBlock(kind: UInt8, codec: UInt8, payload: [UInt8], recordCount: UInt32 = 0, sessions: [UInt32] = []) -> [UInt8] {
        var header: [UInt8] = BlockHeader.sync + [kind, codec]
        header.appendLE(UInt16(BlockHeader.fixedLength + 4 * sessions.count))
        header.appendLE(UInt32(payload.count))
        header.appendLE(UInt32(payload.count))
        header.appendLE(recordCount)
        header.appendLE(Int64(0))
        header.appendLE(Int64(0))
        header.appendLE(recordCRC32(payload))
        header.appendLE(UInt16(sessions.count))
        header.appendLE(UInt16(0))
        for session in sessions { header.appendLE(session) }
        header.appendLE(recordCRC32(header))
        return header + payload
    }

    @Test("a block of a kind from a newer minor version is skipped silently; an unknown codec is reported")
    func unknownKindsAndCodecs() throws {
        let bytes = try Self.smallFile()
        let full = try decodeAll(bytes, chunk: bytes.count)
        try #require(full.blocks.count > 2, "blocks decoded: \(full.blocks.count)")
        let at = Int(full.blocks[2].offset)
        let future = Self.forgedBlock(kind: 9, codec: 0, payload: Array("WSBK inside the payload".utf8))
        let withFuture = Array(bytes[..<at]) + future + Array(bytes[at...])
        for chunk in [1, 4096] {
            let result = try decodeAll(withFuture, chunk: chunk)
            #expect(result.records == sampleRecords())
            #expect(result.damages.isEmpty)
        }
        let newCodec = Self.forgedBlock(kind: 1, codec: 7, payload: [UInt8](repeating: 1, count: 40), recordCount: 2)
        let result = try decodeAll(Array(bytes[..<at]) + newCodec + Array(bytes[at...]), chunk: 4096)
        #expect(result.records == sampleRecords())
        #expect(result.damages.count == 1)
        #expect(result.damages.first?.recordsLost == 2)
        #expect(result.damages.first?.message.contains("codec 7") == true)
    }

    @Test("a record count the block cannot hold is refused, not allocated")
    func impossibleRecordCount() throws {
        let bytes = try Self.smallFile()
        let headerEnd = Int(try #require(try decodeAll(bytes, chunk: bytes.count).blocks.first).offset)
        let forged = Self.forgedBlock(kind: 1, codec: 0, payload: [UInt8](repeating: 0, count: 40), recordCount: .max)
        let result = try decodeAll(Array(bytes[..<headerEnd]) + forged, chunk: 4096)
        #expect(result.records.isEmpty)
        #expect(result.damages.count == 1)
    }
}
