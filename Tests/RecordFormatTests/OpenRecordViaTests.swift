import Testing

@testable import RecordFormat

/// Open-record tag 9 (format 1.3): the balancer a client came through.
@Suite("Open records: the via address (tag 9)")
struct OpenRecordViaTests {
    let direct = SessionOpen(
        startWallMicros: 7, clientAddress: "203.0.113.7:5000", listenAddress: "0.0.0.0:6080",
        target: .hostPort("127.0.0.1:5900"), requestPath: "/", subprotocol: "binary", tls: true)

    func decode(_ body: [UInt8]) -> SessionOpen? {
        body.withUnsafeBytes { RecordCodec.decodeOpen($0) }
    }

    @Test("written last, only when there is one, and read back")
    func roundTrip() throws {
        var behind = direct
        behind.viaAddress = "[2001:db8::2]:41000"
        let plain = RecordCodec.encodeOpen(direct)
        let withVia = RecordCodec.encodeOpen(behind)
        // The tag follows the fields a 1.2 writer wrote, which stay byte for byte as they were.
        #expect(Array(withVia.prefix(plain.count)) == plain)
        #expect(Array(withVia.dropFirst(plain.count)) == [9, 19, 0] + Array("[2001:db8::2]:41000".utf8))
        #expect(decode(withVia) == behind)
        #expect(decode(plain) == direct)
        #expect(decode(plain)?.viaAddress == nil)
    }

    @Test("a reader that does not know the tag reads the rest as before (what 1.0–1.2 readers do with tag 9)")
    func unknownToOlderReaders() throws {
        var behind = direct
        behind.viaAddress = "10.0.0.2:41000"
        var body = RecordCodec.encodeOpen(behind)
        let plainCount = RecordCodec.encodeOpen(direct).count
        // The same bytes under a tag this reader does not know either: skipped, nothing else changes.
        body[plainCount] = 250
        #expect(decode(body) == direct)
    }

    @Test("files say format 1.4 (1.4 added the session identity, tag 10)")
    func minorVersion() {
        #expect(FileHeader(createdWallMicros: 0, producerName: "p", producerVersion: "v").minor == 4)
    }
}
