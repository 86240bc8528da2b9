import Foundation
import RecordTestSupport
import Testing

@testable import RecordFormat

#if canImport(Glibc)
import Glibc
#endif

/// Sequence numbers the stress writer put at the start of each frame payload.
private func sequences(_ records: [Record]) -> [UInt64] {
    records.compactMap { record in
        guard case .frame(let frame) = record.body, frame.payload.count >= 8 else { return nil }
        return frame.payload.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }
}

@Suite("Crashes and full disks", .serialized)
struct CrashTests {
    @Test("kill -9 of a writing process: every block sealed before the kill is recovered")
    func killNine() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("killed.rec").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try builtExecutable("RecordStressWriter"))
        process.arguments = [path, "--payload", "text", "--size", "300", "--block", "65536", "--seal-ms", "200"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        // Let it seal a few blocks, then kill it mid-flight.
        var lines: [String] = []
        var buffer = Data()
        let deadline = Date().addingTimeInterval(20)
        while lines.filter({ $0.hasPrefix("sealed") }).count < 5 && Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: 0x0A) {
                lines.append(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                buffer = Data(buffer[(newline + 1)...])
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let sealed = lines.filter { $0.hasPrefix("sealed") }
        try #require(sealed.count >= 5, "the writer reported sealed blocks: \(lines.suffix(3))")
        // The last report printed before the kill: every record up to that sequence is on disk.
        let parts = try #require(sealed.last?.split(separator: " "))
        let lastSealedSequence = try #require(parts.dropFirst().first.flatMap { UInt64($0) }, "\(parts)")

        let source = try RecordSource(path: path)
        let records = try source.readAll()
        let seen = sequences(records)
        #expect(seen == Array(0..<UInt64(seen.count)), "records come back complete and in order")
        #expect(UInt64(seen.count) > lastSealedSequence, "all records through \(lastSealedSequence) recovered")
        #expect(source.damages.allSatisfy { $0.kind == .truncated }, "only a torn tail: \(source.damages)")
        #expect(source.damages.count <= 1)

        // verify agrees (exit 3 with a torn tail, else 0) and a new writer appends after cutting it.
        let verify = try run(try builtExecutable("wsrecord-inspect"), ["verify", path])
        #expect(verify.status == (source.damages.isEmpty ? 0 : 3), "verify: \(verify.stdout)")
        let writer = try RecordFileWriter(path: path)
        #expect(writer.appendReport.lastExistingSession == 1)
        try writer.close()
        let after = try RecordVerifier.verify(path: path)
        #expect(after.isClean)
        #expect(after.records >= seen.count)
    }

    @Test("writes failing for lack of space drop whole blocks; the file stays valid and says what it lost")
    func fileSizeLimit() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("full.rec").path
        // RLIMIT_FSIZE makes writes past 200 kB fail with EFBIG, as a full disk fails with ENOSPC.
        let result = try run(
            try builtExecutable("RecordStressWriter"),
            [path, "--records", "3000", "--payload", "random", "--size", "400", "--block", "16384",
             "--file-size-limit", "200000"])
        #expect(result.status == 0, "writer output: \(result.stdout.suffix(500))")
        #expect(result.stdout.contains("error"), "some writes failed")
        #expect(result.stdout.contains("File too large"))
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        #expect(size <= 200_000)
        let source = try RecordSource(path: path)
        let records = try source.readAll()
        #expect(source.damages.isEmpty, "no partial block was left behind: \(source.damages)")
        let seen = sequences(records)
        // Blocks after the first failure are dropped whole (a smaller last block may still fit),
        // so sequences rise strictly, and everything before the first failure is there.
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 < $1 })
        let contiguous = zip(seen, 0...).prefix { $0.0 == UInt64($0.1) }.count
        // About 470 records of 420 bytes fit in 200 kB, less what stays reserved for the gap block,
        // the index and the trailer (16 KiB and more, record-format.md §5.4).
        #expect(contiguous >= 350, "\(contiguous) survived")
        // The gap block names what the limit cost; the index still fit under it.
        let lost = source.gaps.reduce(0) { $0 + $1.records }
        #expect(UInt64(seen.count) + lost == 3000, "recorded \(seen.count), lost \(lost)")
        #expect(source.gaps.first?.detail == "File too large")
        #expect(try RecordFileReader(path: path).hasValidIndex())
        let verify = try run(try builtExecutable("wsrecord-inspect"), ["verify", path])
        #expect(verify.status == 3, "verify: \(verify.stdout)")
        #expect(verify.stdout.contains("GAP \(lost) records / "), "verify: \(verify.stdout)")
        #expect(verify.stdout.contains("index: present and consistent"))
    }
}
