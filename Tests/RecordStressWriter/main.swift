// A test tool: writes records to a recording without end (or until a count), printing a line
// each time a block has been sealed, so a parent test can kill it with SIGKILL and check that
// every block reported as sealed is recovered. Not a product.
//
// usage: RecordStressWriter FILE [--records N] [--payload zeros|random|text] [--size BYTES]
//        [--block BYTES] [--file-size-limit BYTES] [--seal-ms MS]
import RecordFormat
import WebSocketWire

#if canImport(Glibc)
import Glibc
#endif

var arguments = Array(CommandLine.arguments.dropFirst())
guard let path = arguments.first else {
    print("usage: RecordStressWriter FILE [options]")
    exit(2)
}
arguments.removeFirst()
var options: [String: String] = [:]
while arguments.count >= 2 {
    options[arguments[0]] = arguments[1]
    arguments.removeFirst(2)
}
let limit = Int(options["--records"] ?? "") ?? Int.max
let payloadKind = options["--payload"] ?? "text"
let size = Int(options["--size"] ?? "") ?? 200
var configuration = RecordWriterConfiguration()
if let block = Int(options["--block"] ?? "") { configuration.blockSizeBound = block }
if let ms = UInt64(options["--seal-ms"] ?? "") { configuration.sealIntervalNanos = ms * 1_000_000 }
if let fileLimit = UInt64(options["--file-size-limit"] ?? "") {
    // Stands in for a full disk: writes past the limit fail with EFBIG.
    signal(SIGXFSZ, SIG_IGN)
    var limit = rlimit(rlim_cur: rlim_t(fileLimit), rlim_max: rlim_t(fileLimit))
    setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
}

func payload(sequence: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes: [UInt8]
    switch payloadKind {
    case "zeros": bytes = [UInt8](repeating: 0, count: size)
    case "random": bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
    default: bytes = Array(String(repeating: "frame \(sequence) of the stress writer; ", count: size / 40 + 1).utf8.prefix(size))
    }
    // The sequence number leads every payload so the parent can check order and completeness.
    let tag = withUnsafeBytes(of: UInt64(sequence).littleEndian) { Array($0) }
    for i in 0..<min(8, bytes.count) { bytes[i] = tag[i] }
    return bytes
}

/// One line on standard output, written at once (the parent reads it while we run).
func report(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    bytes.withUnsafeBytes { _ = write(1, $0.baseAddress!, $0.count) }
}

do {
    let writer = try RecordFileWriter(path: path, configuration: configuration)
    let session = writer.allocateSession()
    let clock = SystemRecordClock()
    let start = clock.monotonicNanos()
    try writer.append(
        Record(
            session: session, timeMicros: 0,
            body: .open(SessionOpen(startWallMicros: clock.wallMicros(), target: .hostPort("127.0.0.1:1")))))
    var lastEnd = writer.endOffset
    var failures = 0
    var sequence = 0
    while sequence < limit {
        let frame = Frame(
            direction: sequence % 2 == 0 ? .targetToClient : .clientToTarget, opcode: .binary,
            payload: payload(sequence: sequence))
        do {
            try writer.append(
                Record(session: session, timeMicros: (clock.monotonicNanos() - start) / 1000, body: .frame(frame)))
        } catch {
            failures += 1
            report("error \(sequence) \(error)")
        }
        if writer.endOffset != lastEnd {
            lastEnd = writer.endOffset
            report("sealed \(sequence) \(lastEnd)")
        }
        sequence += 1
    }
    do {
        try writer.close()
    } catch {
        report("close-error \(error)")
    }
    report("closed \(sequence) \(writer.endOffset) failures \(failures) lost \(writer.recordsLost)")
} catch {
    report("fatal \(error)")
    exit(1)
}
