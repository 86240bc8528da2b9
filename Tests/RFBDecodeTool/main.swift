// Decodes a logged RFB session into a PPM image (test tool, not a product).
//
//   RFBDecodeTool [--check-snapshots] [--with-cursor] SESSION.log OUT.ppm
//
// SESSION.log holds the bytes both sides sent, in the order they were seen: records of one byte
// `C` (client to server) or `S` (server to client), a big-endian U32 length, and that many bytes.
// Prints every decoding problem on its own line, then `updates N` and `decoded BYTES in SECONDS`;
// exits 1 when the log is damaged or there was no ServerInit. With --check-snapshots it also takes
// a keyframe snapshot at (up to 50, evenly spread) message boundaries, passes it through its
// serialized form, resumes a decoder from it with the rest of the log, and exits 1 unless that
// draws the same screen; it prints `snapshots RESUMED of BOUNDARIES boundaries`. With --with-cursor
// the image has the cursor drawn at the pointer, and it prints `cursor WxH hotspot X,Y pointer X,Y`.
import Foundation
import RFB
import RFBDecoding

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("RFBDecodeTool: \(message)\n".utf8))
    exit(1)
}

var arguments = CommandLine.arguments
let checkSnapshots = arguments.contains("--check-snapshots")
let withCursor = arguments.contains("--with-cursor")
arguments.removeAll { $0 == "--check-snapshots" || $0 == "--with-cursor" }
guard arguments.count == 3 else {
    fail("usage: RFBDecodeTool [--check-snapshots] [--with-cursor] SESSION.log OUT.ppm")
}
guard let log = FileManager.default.contents(atPath: arguments[1]) else { fail("cannot read \(arguments[1])") }
let bytes = [UInt8](log)

var chunks: [(RFBDirection, ArraySlice<UInt8>)] = []
var index = 0
while index < bytes.count {
    guard index + 5 <= bytes.count else { fail("a record header is cut at byte \(index)") }
    let direction: RFBDirection
    switch bytes[index] {
    case UInt8(ascii: "C"): direction = .clientToServer
    case UInt8(ascii: "S"): direction = .serverToClient
    default: fail("byte \(index) is not a direction (C or S)")
    }
    let length = bytes[index + 1..<index + 5].reduce(0) { $0 << 8 | Int($1) }
    guard index + 5 + length <= bytes.count else { fail("the record at byte \(index) is cut") }
    chunks.append((direction, bytes[index + 5..<index + 5 + length]))
    index += 5 + length
}

let decoder = RFBFramebufferDecoder()
var problems: [RFBDecodeProblem] = []
/// Chunks after which the decoder was between messages.
var boundaries: [Int] = []
let started = ContinuousClock.now
for (index, (direction, chunk)) in chunks.enumerated() {
    problems += decoder.feed(direction, chunk)
    if checkSnapshots, decoder.isAtMessageBoundary { boundaries.append(index) }
}
problems += decoder.finish()
let elapsed = ContinuousClock.now - started
for problem in problems { print(problem) }
guard let framebuffer = decoder.framebuffer else { fail("no ServerInit in \(arguments[1])") }
if withCursor {
    let shape = decoder.cursor.map { "\($0.width)x\($0.height) hotspot \($0.hotspotX),\($0.hotspotY)" } ?? "none"
    let at = decoder.pointer.map { "\($0.x),\($0.y)" } ?? "none"
    print("cursor \(shape) pointer \(at)")
}
print("updates \(decoder.updateCount)")
// Rectangles by encoding, as the server sent them (what the session really used).
var counter = RFBSessionParser()
var counts: [String: Int] = [:]
for (direction, chunk) in chunks {
    for case .message(let parsed) in counter.feed(direction, chunk) {
        guard case .framebufferUpdate(let update) = parsed.message else { continue }
        for rectangle in update.rectangles { counts[rectangle.encoding.description, default: 0] += 1 }
    }
}
print("rectangles " + counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
print("decoded \(bytes.count) bytes in \(elapsed)")

if checkSnapshots {
    let picked = Set(stride(from: 0, to: boundaries.count, by: max(1, boundaries.count / 50)).map { boundaries[$0] })
    let replay = RFBFramebufferDecoder()
    var resumed = 0
    var largest = 0
    var serializing = Duration.zero
    var restoring = Duration.zero
    for (index, (direction, chunk)) in chunks.enumerated() {
        _ = replay.feed(direction, chunk)
        guard picked.contains(index) else { continue }
        guard let snapshot = replay.snapshot() else { fail("no snapshot at the boundary after chunk \(index)") }
        do {
            let clock = ContinuousClock()
            var bytes: [UInt8] = []
            serializing += clock.measure { bytes = snapshot.serialized }
            largest = max(largest, bytes.count)
            var restored: RFBDecoderSnapshot?
            restoring += try clock.measure { restored = try RFBDecoderSnapshot(serialized: bytes) }
            guard let read = restored else { fail("no snapshot read back") }
            guard read == snapshot else { fail("the snapshot after chunk \(index) changed through its bytes") }
            let next = try RFBFramebufferDecoder(resumingFrom: read)
            var later: [RFBDecodeProblem] = []
            for (direction, chunk) in chunks[(index + 1)...] { later += next.feed(direction, chunk) }
            later += next.finish()
            guard next.framebuffer == framebuffer, next.updateCount == decoder.updateCount else {
                fail("resumed after chunk \(index), the decoder draws another screen")
            }
            // A static screen is drawn again whole, so also every problem must be one the
            // decoding from the start had (a zlib stream resumed wrongly would add some).
            if let new = later.first(where: { !problems.contains($0) }) {
                fail("resumed after chunk \(index), the decoder reports \(new)")
            }
        } catch {
            fail("the snapshot after chunk \(index): \(error)")
        }
        resumed += 1
    }
    print("snapshots \(resumed) of \(boundaries.count) boundaries")
    print("snapshot largest \(largest) bytes, serialized in \(serializing / max(resumed, 1)), read in \(restoring / max(resumed, 1)) (mean)")
}
let image = withCursor ? decoder.framebufferWithCursor ?? framebuffer : framebuffer
guard FileManager.default.createFile(atPath: arguments[2], contents: Data(image.ppm)) else {
    fail("cannot write \(arguments[2])")
}
