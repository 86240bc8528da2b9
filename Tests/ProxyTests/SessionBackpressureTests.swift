import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

/// Each side of a session is read only while the other side can take more (both channels run with
/// auto-read off): a slow peer stops the fast one instead of growing the proxy's buffers.
@Suite("Session backpressure, without sockets")
struct SessionBackpressureTests {
    @Test("target to client: the target is not read while the client is unwritable, and is read again once it drains")
    func targetWaitsForClient() throws {
        let session = try SessionHarness()
        #expect(session.targetReads.reads == 1, "the session reads the target once it opens")
        try session.target.writeInbound(ByteBuffer(string: "one"))
        #expect(session.targetReads.reads == 2, "client writable: the next read is asked for at once")

        session.setWritable(session.client, false)
        try session.target.writeInbound(ByteBuffer(string: "two"))
        #expect(session.targetReads.reads == 2, "client unwritable: the target must not be read again")
        try session.client.writeInbound(clientFrame(opcode: 9, payload: [1]))  // client activity changes nothing
        #expect(session.targetReads.reads == 2, "a client read must not resume target reads either")

        session.setWritable(session.client, true)
        #expect(session.targetReads.reads == 3, "client writable again: target reads resume")
        #expect(try session.takeOutbound(session.client) == [0x82, 3] + Array("one".utf8) + [0x82, 3] + Array("two".utf8) + [0x8A, 1, 1])
        try session.end()
    }

    @Test("client to target: the client is not read while the target is unwritable, and is read again once it drains")
    func clientWaitsForTarget() throws {
        let session = try SessionHarness()
        #expect(session.clientReads.reads == 1, "the session reads the client once the target is up")
        try session.client.writeInbound(clientFrame(opcode: 2, payload: Array("one".utf8)))
        #expect(session.clientReads.reads == 2, "target writable: the next read is asked for at once")

        session.setWritable(session.target, false)
        try session.client.writeInbound(clientFrame(opcode: 2, payload: Array("two".utf8)))
        #expect(session.clientReads.reads == 2, "target unwritable: the client must not be read again")
        try session.target.writeInbound(ByteBuffer(string: "x"))  // target activity changes nothing
        #expect(session.clientReads.reads == 2, "a target read must not resume client reads either")

        session.setWritable(session.target, true)
        #expect(session.clientReads.reads == 3, "target writable again: client reads resume")
        #expect(try session.takeOutbound(session.target) == Array("onetwo".utf8), "what was read is still delivered")
        try session.end()
    }
}
