#if canImport(Glibc)
    import Glibc
#endif
import RecordFormat
import RFB

/// `wsfuzz --seed-rfb DIRECTORY MAX_BYTES FILE.rec...`: writes each binary session of the recordings
/// as an ``RFBSchedule`` (its first MAX_BYTES of RFB bytes, reads in recorded order) into DIRECTORY,
/// one file a session: seeds for the rfb-* targets taken from real VNC sessions.
enum RFBSeeds {
    static func write(arguments: [String]) -> CInt {
        guard arguments.count >= 3, let limit = Int(arguments[1]) else {
            printError("usage: wsfuzz --seed-rfb DIRECTORY MAX_BYTES FILE.rec...")
            return 2
        }
        let directory = arguments[0]
        var written = 0
        for path in arguments[2...] {
            do {
                let reader = try RecordFileReader(path: path)
                var sessions: [UInt32: RFBSchedule] = [:]
                var sizes: [UInt32: Int] = [:]
                while let record = try reader.nextRecord() {
                    guard case .frame(let frame) = record.body, frame.opcode == .binary, !frame.isRedacted,
                        sizes[record.session, default: 0] < limit
                    else { continue }
                    let bytes = Array(frame.payload.prefix(limit - sizes[record.session, default: 0]))
                    sizes[record.session, default: 0] += bytes.count
                    let direction: RFBDirection = frame.direction == .clientToTarget ? .clientToServer : .serverToClient
                    sessions[record.session, default: RFBSchedule(feeds: [])].feeds.append((direction, bytes))
                }
                let name = path.split(separator: "/").suffix(2).joined(separator: "-").replacingOccurrences(of: ".rec", with: "")
                for (session, schedule) in sessions where schedule.feeds.count > 2 {
                    // Two parameter bytes (cut and resume points), then the schedule.
                    let seed = [UInt8(session & 0xFF), 0x55] + schedule.encoded
                    let file = "\(directory)/\(name)-s\(session)"
                    guard let handle = fopen(file, "wb") else {
                        printError("wsfuzz: cannot write \(file)")
                        return 1
                    }
                    _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
                    fclose(handle)
                    written += 1
                }
            } catch {
                printError("wsfuzz: \(path): \(error)")
                return 1
            }
        }
        print("wsfuzz: \(written) RFB seeds in \(directory)")
        return 0
    }
}
