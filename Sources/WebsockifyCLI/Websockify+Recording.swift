import Logging
import Proxy
import RecordFormat
import ServiceSupport

/// The recording's files (`--record`, `--record-rotate`, `--record-dir --record-per-session`) and
/// what happens to each file once it is closed (`--record-on-close`).
extension Websockify {
    /// Whether sessions are recorded at all.
    var recording: Bool { record != nil || recordPerSession }

    /// The files the recording options describe, nil without recording; checks them without I/O.
    func recordingLayout() throws -> RecordFileLayout? {
        if recordPerSession && recordDir == nil {
            throw ProxyError.invalidOption("--record-per-session", why: "needs --record-dir=DIR")
        }
        if recordDir != nil && !recordPerSession {
            throw ProxyError.invalidOption("--record-dir", why: "is the directory of --record-per-session; give both")
        }
        if recordPerSession && record != nil {
            throw ProxyError.invalidOption("--record-per-session", why: "records into --record-dir; give it or --record, not both")
        }
        if let recordRotate, record == nil {
            throw ProxyError.invalidOption("--record-rotate=\(recordRotate)", why: "rotates the file of --record; give --record=FILE")
        }
        if recordOnClose != nil && !recording {
            throw ProxyError.invalidOption("--record-on-close", why: "needs --record or --record-per-session")
        }
        if let recordOnClose, recordOnClose.allSatisfy(\.isWhitespace) {
            throw ProxyError.invalidOption("--record-on-close", why: "needs a command")
        }
        if let recordDir, recordDir.isEmpty {
            throw ProxyError.invalidOption("--record-dir", why: "needs a directory")
        }
        if let recordDir { return .perSession(directory: recordDir) }
        guard let record else { return nil }
        guard let recordRotate else { return .single(path: SessionRecording.recordPath(record)) }
        do {
            return SessionRecording.rotatingLayout(record, rotation: try RecordRotation.parse(recordRotate))
        } catch {
            throw ProxyError.invalidOption("--record-rotate=\(recordRotate)", why: error.message)
        }
    }

    /// `--record-on-close-jobs`: 1 to 64, 2 by default (an upload each while the next file fills).
    func onCloseJobs() throws -> Int {
        guard let recordOnCloseJobs else { return 2 }
        if recordOnClose == nil {
            throw ProxyError.invalidOption("--record-on-close-jobs", why: "needs --record-on-close")
        }
        guard (1...64).contains(recordOnCloseJobs) else {
            throw ProxyError.invalidOption("--record-on-close-jobs=\(recordOnCloseJobs)", why: "takes 1 to 64")
        }
        return recordOnCloseJobs
    }

    /// What is done with each closed file: logged, and handed to `--record-on-close`'s command.
    struct ClosedFileHandler: Sendable {
        var closed: @Sendable (ClosedRecordFile) -> Void
        var commands: FileCommandQueue?
    }

    /// Logs each closed file and queues `--record-on-close`'s command for it. The command runs once
    /// the file is verified: `WEBSOCKIFY_RECORD_STATUS` says `ok`, `gaps` (intact, but the writer lost
    /// records: a full disk) or `damaged` (logged as an error; the command still gets the file, which
    /// is all there is).
    func closedFileHandler(logger: Logger) throws -> ClosedFileHandler {
        let commands = try recordOnClose.map { FileCommandQueue(command: $0, limit: try onCloseJobs(), logger: logger) }
        return ClosedFileHandler(
            closed: { file in
                if let error = file.error {
                    // The index is written whenever there is room for it; the error says what was not.
                    logger.warning("recording: closed \(file.path), but \(error)")
                } else {
                    logger.info("recording: closed \(file.path)")
                }
                commands?.submit(file.path) { path in Self.verifiedStatus(path, logger: logger) }
            },
            commands: commands)
    }

    /// Verifies a closed file for `--record-on-close`: its status in the command's environment.
    static func verifiedStatus(_ path: String, logger: Logger) -> [String: String] {
        do {
            let report = try RecordVerifier.verify(path: path)
            if !report.isClean || !report.hasIndex {
                let what = (report.damages.map { "\($0)" } + report.problems).joined(separator: "; ")
                logger.error("record-on-close: \(path) does not verify clean (\(what.isEmpty ? "no index" : what))")
                return ["WEBSOCKIFY_RECORD_STATUS": "damaged"]
            }
            return ["WEBSOCKIFY_RECORD_STATUS": report.isComplete ? "ok" : "gaps"]
        } catch {
            logger.error("record-on-close: \(path) cannot be verified: \(error)")
            return ["WEBSOCKIFY_RECORD_STATUS": "damaged"]
        }
    }
}
