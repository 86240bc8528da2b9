import Foundation
import RecordTestSupport
import Testing
import TestSupport
import WebSocketWire

@testable import RecordFormat

@Suite("Disk space reserved ahead of the file's end")
struct SpaceReservationTests {
    func allocatedBytes(_ path: String) -> (size: Int, allocated: Int) {
        var info = stat()
        _ = stat(path, &info)
        return (Int(info.st_size), Int(info.st_blocks) * 512)
    }

    @Test("the reservation never shows in the file's size and is released at close")
    func releasedAtClose() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("reserve.rec").path
        let writer = try RecordFileWriter(path: path, clock: ManualClock())
        try writer.append(Record(session: 1, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 1))))
        try writer.append(
            Record(
                session: 1, timeMicros: 1,
                body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: noise(100_000, seed: 1)))))
        try writer.seal()
        let open = allocatedBytes(path)
        #expect(UInt64(open.size) == writer.endOffset, "readers see exactly the blocks written")
        try writer.close()
        let closed = allocatedBytes(path)
        // Where the file system reserves space (ext4, tmpfs), the 8 MiB step shows until close.
        if open.allocated >= Int(RecordFileWriter.reservationStep) {
            #expect(closed.allocated < open.size + (1 << 20), "reservation released: \(closed)")
        }
        let reader = try RecordFileReader(path: path)
        var count = 0
        while try reader.nextRecord() != nil { count += 1 }
        #expect(count == 2)
        #expect(reader.damages.isEmpty)
    }
}

@Suite("Vectored block writes")
struct VectoredWriteTests {
    @Test("pieces of every size, empty ones and more than one pwritev takes, land in order")
    func manyPieces() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("pieces.bin").path
        var generator = SystemRandomNumberGenerator()
        // 2,500 pieces (over twice the per-call limit), sizes 0 to 2,000 bytes, cut from one array.
        let sizes = (0..<2_500).map { i in i % 7 == 0 ? 0 : Int.random(in: 1...2_000, using: &generator) }
        let bytes = noise(sizes.reduce(0, +), seed: 5)
        let fd = try SystemFile.open(path, flags: O_RDWR | O_CREAT)
        defer { close(fd) }
        let offset: UInt64 = 4_099
        let failure = bytes.withUnsafeBytes { all in
            var start = 0
            let pieces = sizes.map { size in
                defer { start += size }
                return UnsafeRawBufferPointer(rebasing: all[start..<(start + size)])
            }
            return SystemFile.write(fd, pieces: pieces, at: offset)
        }
        #expect(failure == nil)
        let written = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(written.count == Int(offset) + bytes.count)
        #expect([UInt8](written.dropFirst(Int(offset))) == bytes)
        #expect(written.prefix(Int(offset)).allSatisfy { $0 == 0 })
    }

    @Test("a payload's pieces come in groups that together make the whole payload, in order")
    func pieceGroups() {
        // 300 referenced payloads (4 KiB and over) between own bytes of every length, 0 included.
        let source = noise(3_000_000, seed: 9)
        var payload = BlockPayload()
        var cursor = 0
        for i in 0..<300 {
            let ownLength = i % 3 == 0 ? 0 : i * 7
            payload.appendOwn { $0.append(contentsOf: source[cursor..<(cursor + ownLength)]) }
            cursor += ownLength
            let length = BlockPayload.referenceThreshold + i * 5
            payload.append(SlicePayload(bytes: source[cursor..<(cursor + length)]))
            cursor += length
        }
        payload.appendOwn { $0.append(contentsOf: source[cursor..<(cursor + 33)]) }
        cursor += 33
        let whole = Array(source[0..<cursor])
        #expect(payload.contiguous() == whole)
        for perGroup in [1, 7, 128, 300, 1000] {
            var joined: [UInt8] = []
            var groups = 0
            payload.forEachPieceGroup(referencesPerGroup: perGroup) { pieces in
                groups += 1
                for piece in pieces { joined.append(contentsOf: piece) }
                return true
            }
            #expect(joined == whole, "\(perGroup) references per group")
            #expect(groups == (300 + perGroup - 1) / perGroup)
        }
        var calls = 0
        payload.forEachPieceGroup(referencesPerGroup: 10) { _ in
            calls += 1
            return false
        }
        #expect(calls == 1, "returning false stops")
    }

    @Test("short writes and EINTR resume where they stopped, inside a piece or between pieces")
    func shortWrites() {
        let source = noise(50_000, seed: 3)
        let sizes = [0, 1, 4095, 7, 10_000, 0, 20_000, 15_897]
        var file = [UInt8](repeating: 0, count: 60_000)
        var calls = 0
        let failure = source.withUnsafeBytes { all in
            var start = 0
            let pieces = sizes.map { size in
                defer { start += size }
                return UnsafeRawBufferPointer(rebasing: all[start..<(start + size)])
            }
            return SystemFile.write(pieces: pieces, at: 1_000) { vectors, count, position in
                calls += 1
                if calls % 3 == 0 {
                    errno = EINTR
                    return -1
                }
                // Writes at most 1,234 bytes a call, so calls end in the middle of pieces.
                var budget = 1_234
                var at = Int(position)
                for i in 0..<Int(count) where budget > 0 {
                    let vector = vectors[i]
                    let n = min(budget, vector.iov_len)
                    let bytes = UnsafeRawBufferPointer(start: vector.iov_base, count: n)
                    file.replaceSubrange(at..<(at + n), with: bytes)
                    at += n
                    budget -= n
                }
                return 1_234 - budget
            }
        }
        #expect(failure == nil)
        #expect(Array(file[1_000..<51_000]) == source)
        #expect(calls > 50_000 / 1_234, "it took many short calls")
    }

    @Test("a failing write returns its errno")
    func failure() {
        let bytes = [UInt8](repeating: 1, count: 100)
        let code = bytes.withUnsafeBytes { SystemFile.write(-1, pieces: [$0, $0], at: 0) }
        #expect(code == EBADF)
    }
}
