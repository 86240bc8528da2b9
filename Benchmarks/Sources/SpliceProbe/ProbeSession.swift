import Dispatch
import Foundation
import Glibc

/// One client connection: the handshake, the target connection, then the two directions on two
/// threads (target → client on its own, client → target on this one). Closes both sockets when
/// both directions are done.
struct ProbeSession: Sendable {
    var options: ProbeOptions
    var client: Int32

    func run() {
        defer { close(client) }
        let handshake: ProbeHandshake
        do {
            handshake = try ProbeHandshake(readingFrom: client)
        } catch let refusal as ProbeHandshake.Refusal {
            try? refusal.response.withUnsafeBytes { try ProbeSocket.writeAll(client, $0) }
            log("refused: \(refusal)")
            return
        } catch {
            log("handshake: \(error)")
            return
        }
        let target: Int32
        do {
            target = try ProbeSocket.connect(host: options.targetHost, port: options.targetPort)
        } catch {
            let answer = Array("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            try? answer.withUnsafeBytes { try ProbeSocket.writeAll(client, $0) }
            log("target: \(error)")
            return
        }
        defer { close(target) }
        ProbeSocket.noDelay(client)
        do {
            try handshake.response.withUnsafeBytes { try ProbeSocket.writeAll(client, $0) }
        } catch {
            log("101: \(error)")
            return
        }

        let writer = ClientWriter(fd: client)
        let forwarder = TargetForwarder(mode: options.mode, pipeSize: options.pipeSize, target: target, writer: writer)
        let outcome = ForwarderOutcome()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            outcome.set(forwarder.run())
            done.signal()
        }
        thread.start()

        let reader = ClientFrameReader(client: client, target: target, writer: writer)
        let (fromClient, ending) = reader.run(leftover: handshake.leftover)
        // The client side is over (a WebSocket has no half-close): stop the target too, which ends
        // the forwarder's splice or read.
        shutdown(target, Int32(SHUT_RDWR))
        done.wait()
        let (totals, failure) = outcome.get()
        var line = "session: target→client \(totals.bytes) bytes in \(totals.frames) frames"
        line += " (largest \(totals.largestFrame)"
        if options.mode == .splice { line += ", pipe \(totals.pipeCapacity)" }
        line += "), client→target \(fromClient) bytes; client: \(ending)"
        if let failure { line += "; target→client: \(failure)" }
        log(line)
    }

    private func log(_ text: String) {
        FileHandle.standardError.write(Data("SpliceProbe[\(options.mode.rawValue)] \(text)\n".utf8))
    }
}

/// The forwarder thread's result, handed to the session's thread.
final class ForwarderOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (TargetForwarder.Totals, ProbeSocket.Failure?) = (.init(), nil)

    func set(_ value: (TargetForwarder.Totals, ProbeSocket.Failure?)) {
        lock.lock()
        self.value = value
        lock.unlock()
    }

    func get() -> (TargetForwarder.Totals, ProbeSocket.Failure?) {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
