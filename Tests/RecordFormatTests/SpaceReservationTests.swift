import Foundation
import Testing

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
