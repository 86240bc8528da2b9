import Foundation
import RecordFormat
import WebSocketWire

/// A fresh directory under the system temp dir, removed by the caller's `defer`.
public func makeTemporaryDirectory(_ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "wsrec-\(safe)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The repository's `Fixtures/` folder, found from this file's path.
public func fixturePath(_ name: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// A built executable of this package (tests run from the build directory that holds them).
public func builtExecutable(_ name: String) throws -> String {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // The test bundle may sit inside a `.xctest` directory on some layouts.
    for _ in 0..<3 {
        let candidate = dir.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    throw TestFailure("executable \(name) not found next to \(exe); build the package first")
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public struct ProcessResult {
    public var status: Int32
    /// False when the process died of a signal (a crash).
    public var exited: Bool
    public var stdout: String
    public var stderr: String
    public var stdoutBytes: Data
}

/// Runs a command to completion, capturing its output.
public func run(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes concurrently enough: stderr is small; read stdout fully first.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus, exited: process.terminationReason == .exit, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self), stdoutBytes: outData)
}

/// A clock whose time the test moves by hand.
public final class ManualClock: RecordClock, @unchecked Sendable {
    private let lock = NSLock()
    private var wall: Int64 = 1_764_000_000_000_000
    private var mono: UInt64 = 1_000_000_000

    public init() {}

    public func wallMicros() -> Int64 { lock.withLock { wall } }
    public func monotonicNanos() -> UInt64 { lock.withLock { mono } }

    public func advance(micros: UInt64) {
        lock.withLock {
            wall += Int64(micros)
            mono += micros * 1000
        }
    }
}

/// One record of every kind, over two interleaved sessions.
public func sampleRecords() -> [Record] {
    let open1 = SessionOpen(
        startWallMicros: 1_764_000_000_000_000, clientAddress: "127.0.0.1:50000", listenAddress: "0.0.0.0:6080",
        target: .hostPort("[::1]:5900"), requestPath: "/websockify?token=a", subprotocol: "binary", tls: true)
    let open2 = SessionOpen(
        startWallMicros: 1_764_000_000_500_000, clientAddress: "[::1]:50001", listenAddress: "[::]:6080",
        target: .unixSocket("/run/vnc.sock"), requestPath: "/", subprotocol: nil, tls: false,
        viaAddress: "[2001:db8::2]:41000")
    return [
        Record(session: 1, timeMicros: 0, body: .open(open1)),
        Record(session: 1, timeMicros: 10, body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: Array("RFB 003.008\n".utf8)))),
        Record(session: 2, timeMicros: 0, body: .open(open2)),
        Record(session: 1, timeMicros: 20, body: .frame(Frame(direction: .clientToTarget, opcode: .text, payload: Array("héllo".utf8), isFinal: false))),
        Record(session: 1, timeMicros: 21, body: .frame(Frame(direction: .clientToTarget, opcode: .continuation, payload: [0xFF, 0x00, 0x27, 0x5C]))),
        Record(session: 2, timeMicros: 5, body: .frame(Frame(direction: .targetToClient, opcode: .ping, payload: [1, 2, 3]))),
        Record(session: 2, timeMicros: 6, body: .frame(Frame(direction: .clientToTarget, opcode: .pong, payload: [1, 2, 3]))),
        Record(session: 1, timeMicros: 30, body: .frame(Frame(direction: .clientToTarget, opcode: .binary, payload: [4, 1, 0, 0, 0, 0, 0xFF, 0x0D]).redacted())),
        Record(session: 0, timeMicros: 1_764_000_001_000_000, body: .marker("operator note: ✓ checkpoint")),
        Record(session: 1, timeMicros: 40, body: .frame(Frame(direction: .clientToTarget, opcode: .close, payload: [0x03, 0xE8]))),
        Record(session: 1, timeMicros: 41, body: .close(SessionClose(closedBy: .client, code: 1000, reason: "bye", clientToTarget: .init(frames: 4, bytes: 20), targetToClient: .init(frames: 1, bytes: 12)))),
        Record(session: 2, timeMicros: 99, body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: []))),
        Record(session: 2, timeMicros: 100, body: .close(SessionClose(closedBy: .target, code: nil, reason: ""))),
    ]
}

/// Writes `records` to a new file and returns its bytes.
@discardableResult
public func writeRecording(
    _ records: [Record], to path: String, configuration: RecordWriterConfiguration = .init(),
    clock: any RecordClock = ManualClock()
) throws -> [UInt8] {
    let writer = try RecordFileWriter(path: path, configuration: configuration, clock: clock)
    for record in records { try writer.append(record) }
    try writer.close()
    return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Every event of a decoder fed `bytes` in chunks of `chunk` bytes, then finished.
public func decodeAll(_ bytes: [UInt8], chunk: Int) throws -> (records: [Record], damages: [Damage], blocks: [DecodedBlock]) {
    var decoder = RecordStreamDecoder(path: "test.rec")
    var records: [Record] = []
    var damages: [Damage] = []
    var blocks: [DecodedBlock] = []
    var position = 0
    func drain() throws {
        while let event = try decoder.next() {
            switch event {
            case .header: break
            case .block(let block):
                blocks.append(block)
                if case .records(let r) = block.content { records += r }
            case .damage(let d): damages.append(d)
            }
        }
    }
    while position < bytes.count {
        let end = min(bytes.count, position + chunk)
        decoder.feed(Array(bytes[position..<end]))
        position = end
        try drain()
    }
    if let tail = try decoder.finish() { damages.append(tail) }
    return (records, damages, blocks)
}

/// Copies a test's output file into `$WSREC_KEEP_ARTIFACTS` when that is set, to look at by hand.
public func keepArtifact(_ path: String) {
    guard let dir = ProcessInfo.processInfo.environment["WSREC_KEEP_ARTIFACTS"] else { return }
    let destination = URL(fileURLWithPath: dir).appendingPathComponent(URL(fileURLWithPath: path).lastPathComponent)
    try? FileManager.default.removeItem(at: destination)
    try? FileManager.default.copyItem(at: URL(fileURLWithPath: path), to: destination)
}

/// Three overlapping sessions over about 95 s with bursts of traffic and two markers: a
/// deterministic stand-in for a busy proxy (session 3 is still open at the end).
public func busyRecords(startWall: Int64 = 1_764_000_000_000_000) -> [Record] {
    var records: [(wall: Int64, record: Record)] = []
    func open(_ session: UInt32, at offset: Int64, client: String, target: String) {
        let open = SessionOpen(
            startWallMicros: startWall + offset, clientAddress: client, listenAddress: "0.0.0.0:6080",
            target: .hostPort(target), requestPath: "/websockify", subprotocol: "binary")
        records.append((startWall + offset, Record(session: session, timeMicros: 0, body: .open(open))))
    }
    func frame(_ session: UInt32, _ start: Int64, _ time: Int64, _ direction: Direction, _ size: Int) {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(session)) }
        records.append(
            (start + time, Record(session: session, timeMicros: UInt64(time), body: .frame(Frame(direction: direction, opcode: .binary, payload: payload)))))
    }
    let starts: [UInt32: Int64] = [1: 0, 2: 20_000_000, 3: 75_000_000]
    open(1, at: 0, client: "198.51.100.7:41000", target: "192.168.1.20:5900")
    open(2, at: starts[2]!, client: "198.51.100.9:41001", target: "192.168.1.21:5901")
    open(3, at: starts[3]!, client: "203.0.113.5:52000", target: "192.168.1.20:5900")
    for (session, length) in [(UInt32(1), Int64(60_000_000)), (2, 50_000_000), (3, 20_000_000)] {
        let start = startWall + starts[session]!
        var t: Int64 = 150_000
        var step = 0
        while t < length {
            // A screen update wave every ~10 s, small input events in between.
            let wave = Int((t / 1_000_000) % 10)
            frame(session, start, t, .targetToClient, wave < 3 ? 20_000 * (3 - wave) * Int(session) : 400 + step % 7 * 50)
            frame(session, start, t + 40_000, .clientToTarget, step % 5 == 0 ? 2_000 : 10)
            t += 250_000 + Int64(step % 3) * 90_000
            step += 1
        }
        if session != 3 {
            records.append(
                (start + length, Record(session: session, timeMicros: UInt64(length), body: .close(SessionClose(closedBy: session == 1 ? .client : .target, code: 1000)))))
        }
    }
    records.append((startWall + 30_000_000, Record(session: 0, timeMicros: UInt64(startWall + 30_000_000), body: .marker("recording resumed by websockify-swift 0.1.0"))))
    records.append((startWall + 80_000_000, Record(session: 0, timeMicros: UInt64(startWall + 80_000_000), body: .marker("operator: reboot of vm:99 requested"))))
    return records.enumerated().sorted { ($0.element.wall, $0.offset) < ($1.element.wall, $1.offset) }.map(\.element.record)
}
