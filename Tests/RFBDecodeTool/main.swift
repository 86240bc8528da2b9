// Decodes a logged RFB session into a PPM image (test tool, not a product).
//
//   RFBDecodeTool SESSION.log OUT.ppm
//
// SESSION.log holds the bytes both sides sent, in the order they were seen: records of one byte
// `C` (client to server) or `S` (server to client), a big-endian U32 length, and that many bytes.
// Prints every decoding problem on its own line, then `updates N` and `decoded BYTES in SECONDS`;
// exits 1 when the log is damaged or there was no ServerInit.
import Foundation
import RFB
import RFBDecoding

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("RFBDecodeTool: \(message)\n".utf8))
    exit(1)
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else { fail("usage: RFBDecodeTool SESSION.log OUT.ppm") }
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
let started = ContinuousClock.now
for (direction, chunk) in chunks { problems += decoder.feed(direction, chunk) }
problems += decoder.finish()
let elapsed = ContinuousClock.now - started
for problem in problems { print(problem) }
guard let framebuffer = decoder.framebuffer else { fail("no ServerInit in \(arguments[1])") }
print("updates \(decoder.updateCount)")
print("decoded \(bytes.count) bytes in \(elapsed)")
guard FileManager.default.createFile(atPath: arguments[2], contents: Data(framebuffer.ppm)) else {
    fail("cannot write \(arguments[2])")
}
