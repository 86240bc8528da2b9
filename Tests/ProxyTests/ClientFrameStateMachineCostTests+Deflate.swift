import NIOCore
import Proxy
import Testing

extension ClientFrameStateMachineCostTests {
    @Test("a deflate bomb (64 MiB of zeros in ~64 KiB) gets 1009 and allocates about the limit, not the bomb")
    func deflateBomb() throws {
        let limit = 1 << 20
        let bomb = try DeflateClient().compress([UInt8](repeating: 0, count: 64 << 20))
        #expect(bomb.count < 100 << 10)
        var frame = clientFrame(opcode: 2, payload: bomb, rsv: 4)
        CountingAllocator.reset()
        var machine = ClientFrameStateMachine(
            maxMessageSize: limit, mode: .binary, allocator: CountingAllocator.allocator, deflate: PerMessageDeflate())
        var actions: [ClientFrameStateMachine.Action] = []
        while case let action = machine.next(&frame), action != .needMoreData { actions.append(action) }
        let allocated = CountingAllocator.allocated
        guard case .fail(let code, _)? = actions.last else {
            Issue.record("expected a failure, got \(actions)")
            return
        }
        #expect(code == 1009)
        // The compressed payload's buffer plus output growing by doubling up to limit + 1 (each growth
        // counted whole): a few times the limit; the bomb would be 64 times it.
        #expect(allocated < 6 * limit, "\(allocated) bytes allocated")
    }
}
