#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Records from any thread without blocking it: records go into a bounded queue, a dedicated
/// thread compresses and writes them. When the disk is slow and the queue is at its limit, new
/// records are dropped (never queued without bound); what was dropped, per session, goes into the
/// recording as a gap block once the writer catches up — the same gap block a full disk leaves
/// (docs/record-format.md §5.4).
public final class BackgroundRecorder: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Payload bytes the queue may hold before records are dropped. 32 MiB absorbs a few
        /// seconds of a busy VNC session while bounding memory.
        public var queueByteLimit: Int
        /// How often the writer thread wakes to write what is queued and seal an old block.
        public var tickNanos: UInt64
        /// Queued bytes at which a waiting writer is woken before its tick (at most a quarter of
        /// ``queueByteLimit``); less waits for the tick. Waking it for every frame cost a futex
        /// call on the submitting thread and a sleep and wake of the writer per frame.
        public var wakeByteThreshold: Int
        public var writer: RecordWriterConfiguration

        public init(
            queueByteLimit: Int = 32 << 20, tickNanos: UInt64 = 100_000_000, wakeByteThreshold: Int = 256 << 10,
            writer: RecordWriterConfiguration = .init()
        ) {
            self.queueByteLimit = queueByteLimit
            self.tickNanos = tickNanos
            self.wakeByteThreshold = wakeByteThreshold
            self.writer = writer
        }

        var effectiveWakeThreshold: Int { max(1, min(wakeByteThreshold, queueByteLimit / 4)) }
    }

    /// Something the owner should log.
    public enum Event: Sendable {
        /// The writer fell behind (or the recording was closing); records were dropped. `bytes`
        /// counts their frame payloads.
        case dropped(records: Int, bytes: Int)
        /// Writing a block failed (e.g. disk full); those records are lost, the file stays valid.
        case writeFailed(RecordFormatError)
        /// A block reached the file again after ``writeFailed`` (space came back); sent once per
        /// outage, from the writer thread.
        case writingAgain
        /// The next file of a rotated recording could not be started (e.g. a full disk): recording
        /// goes on in the current one, and the rotation is tried again after 10 s.
        case rotationFailed(RecordFormatError)
    }

    /// The file being written (of a rotated recording: the first), or a per-session recording's directory.
    public let path: String
    /// Which files the recording writes.
    public let layout: RecordFileLayout

    /// What a recorder has done so far, for metrics: cumulative since it started, across rotated
    /// files, except the queue's depth, which is as of now.
    public struct Statistics: Sendable, Equatable {
        /// Records waiting for the writer, and the memory they hold (see ``Configuration/queueByteLimit``).
        public var queuedRecords = 0
        public var queuedBytes = 0
        /// Bytes added to the recording's files (blocks, gaps, indexes), as of the writer's last batch.
        public var bytesWritten: UInt64 = 0
        /// Records refused: the queue was full, or they came after ``close()`` began; and
        /// ``recordsWithoutFile``.
        public var recordsDropped: UInt64 = 0
        /// Records of sessions whose own file could not be created (per-session recording: a full
        /// disk, no inodes, the descriptor limit): no file, so no gap block can tell of them either.
        public var recordsWithoutFile: UInt64 = 0
        /// Gap blocks written (each tells what a full queue or a failed write lost).
        public var gapsWritten = 0

        public init() {}
    }
    /// What opening the file found (appended run, torn tail cut).
    public let appendReport: RecordFileWriter.AppendReport

    private let writer: RecordFileSet
    private let configuration: Configuration
    private let onEvent: @Sendable (Event) -> Void
    // Heap-allocated so their addresses never move (pthread objects must not be copied).
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Signalled (with `condition`) once the writer thread has closed the file.
    private var finished = false
    /// Records refused because they came after close() began.
    private var late = RecordLossTally()
    /// Set once the writer took `late` for the last time (it is closing the file): records refused
    /// after that are only counted, in `sealedRecords` and `sealedBytes`, and reported in an event.
    private var sealed = false
    private var sealedRecords = 0
    private var sealedBytes = 0
    /// What the queue holds: a record, or a frame record whose payload is referenced.
    private enum Entry {
        case record(Record)
        case frame(FrameRecord)
    }

    private var queue: [Entry] = []
    private var queuedBytes = 0
    /// Records dropped because the queue was full, not yet handed to the writer.
    private var dropped = RecordLossTally()
    /// True from a drop until the writer takes the queue: every later record but opens and closes
    /// is dropped too, so that nothing sent after a loss is written before the gap reporting it.
    private var dropping = false
    private var nextSession: UInt32
    private var closing = false
    /// The writer's totals as of its last batch, and the records refused (under `mutex`).
    private var published = Statistics()
    /// True while the writer thread waits for records (under `mutex`).
    private var writerWaiting = false
    private let wakeThreshold: Int
    private var thread: pthread_t?

    /// Opens (or appends to) `path` and starts the writer thread.
    public convenience init(
        path: String, configuration: Configuration = .init(), onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) throws(RecordFormatError) {
        try self.init(layout: .single(path: path), configuration: configuration, onEvent: onEvent)
    }

    /// Opens the first file of `layout` (a per-session recording: checks its directory) and starts
    /// the writer thread. `onFileClosed` hears, on the writer thread, of every file closed (rotated,
    /// a session's, or at ``close()``), once nothing writes into it any more.
    public init(
        layout: RecordFileLayout, configuration: Configuration = .init(),
        onEvent: @escaping @Sendable (Event) -> Void = { _ in },
        onFileClosed: @escaping @Sendable (ClosedRecordFile) -> Void = { _ in }
    ) throws(RecordFormatError) {
        self.layout = layout
        self.configuration = configuration
        self.wakeThreshold = configuration.effectiveWakeThreshold
        self.onEvent = onEvent
        self.writer = try RecordFileSet(layout: layout, configuration: configuration.writer, onClosed: onFileClosed)
        if case .perSession(let directory) = layout {
            self.path = directory
        } else {
            self.path = writer.currentPath ?? ""
        }
        self.appendReport = writer.appendReport
        self.nextSession = writer.firstSession
        mutex.initialize(to: pthread_mutex_t())
        condition.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        let unmanaged = Unmanaged.passRetained(self)
        var handle = pthread_t()
        let status = pthread_create(
            &handle, nil,
            { context in
                let recorder = Unmanaged<BackgroundRecorder>.fromOpaque(context!).takeRetainedValue()
                recorder.writerLoop()
                return nil
            }, unmanaged.toOpaque())
        guard status == 0 else {
            unmanaged.release()
            try? writer.close()
            throw RecordFormatError(.io, "cannot start the recording thread: \(SystemFile.errnoText(status))", path: path)
        }
        thread = handle
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// What the recorder has done so far (thread-safe; one lock, no waiting for the writer).
    public var statistics: Statistics {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var statistics = published
        statistics.queuedRecords = queue.count
        statistics.queuedBytes = queuedBytes
        return statistics
    }

    /// A new session number (thread-safe; numbers continue those already in the file).
    public func allocateSession() -> UInt32 {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        defer { nextSession &+= 1 }
        return nextSession
    }

    static let recordOverhead = 160

    /// Queues `record` without blocking; returns false when it was dropped because the queue is full.
    @discardableResult
    public func submit(_ record: Record) -> Bool {
        // What a queued record costs in memory: its payload plus the record and array overhead
        // (about 160 bytes), so a flood of tiny frames is bounded as tightly as large ones.
        switch record.body {
        case .frame(let frame):
            return enqueue(
                .record(record), size: frame.payload.count + Self.recordOverhead, structural: false,
                loss: (record.session, record.timeMicros, (frame.direction, frame.payload.count)))
        case .marker:
            return enqueue(.record(record), size: 256, structural: false, loss: (record.session, record.timeMicros, nil))
        case .open, .close:
            // Opens and closes are always kept (they are small and give sessions their shape).
            return enqueue(.record(record), size: 256, structural: true, loss: (record.session, record.timeMicros, nil))
        }
    }

    /// Queues a frame record without copying its payload; returns false when it was dropped
    /// because the queue is full.
    /// - Parameter retainedBytes: the memory the payload keeps alive while queued (for a slice,
    ///   its whole buffer), counted against the queue's limit.
    @discardableResult
    public func submit(_ frame: FrameRecord, retainedBytes: Int) -> Bool {
        enqueue(
            .frame(frame), size: max(retainedBytes, frame.payload.byteCount) + Self.recordOverhead, structural: false,
            loss: (frame.session, frame.timeMicros, (frame.direction, frame.payload.byteCount)))
    }

    /// Queues `entry`, or counts it as lost (`loss`: its session, time, and direction and payload
    /// length for frames) when the queue is full or closing.
    private func enqueue(
        _ entry: Entry, size: Int, structural: Bool, loss: (UInt32, UInt64, (Direction, Int)?)
    ) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if sealed {
            published.recordsDropped += 1
            sealedRecords += 1
            sealedBytes += loss.2?.1 ?? 0
            return false
        }
        if closing {
            // The writer computes wall-clock times; 0 stands in until then.
            published.recordsDropped += 1
            late.add(session: loss.0, timeMicros: loss.1, wallMicros: 0, frame: loss.2, cause: .afterClose)
            return false
        }
        if !structural && (dropping || queuedBytes + size > configuration.queueByteLimit) {
            dropping = true
            published.recordsDropped += 1
            dropped.add(session: loss.0, timeMicros: loss.1, wallMicros: 0, frame: loss.2, cause: .queueFull)
            return false
        }
        queue.append(entry)
        queuedBytes += size
        // Small amounts wait for the writer's tick; a waiting writer is woken once enough is queued.
        if writerWaiting && queuedBytes >= wakeThreshold {
            writerWaiting = false
            pthread_cond_signal(condition)
        }
        return true
    }

    /// Drains the queue, writes the index, syncs and closes the file, and stops the thread.
    /// Blocks until done, however many callers there are: call it off any event loop.
    public func close() {
        pthread_mutex_lock(mutex)
        let first = !closing
        closing = true
        pthread_cond_broadcast(condition)
        if !first {
            while !finished { pthread_cond_wait(condition, mutex) }
        }
        pthread_mutex_unlock(mutex)
        guard first, let thread else { return }
        pthread_join(thread, nil)
        pthread_mutex_lock(mutex)
        finished = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    private func writerLoop() {
        Self.nameCurrentThread("recorder")
        var batch: [Entry] = []
        while true {
            pthread_mutex_lock(mutex)
            if queuedBytes < wakeThreshold && !closing {
                var deadline = timespec()
                clock_gettime(CLOCK_MONOTONIC, &deadline)
                let nanos = UInt64(deadline.tv_nsec) + configuration.tickNanos
                deadline.tv_sec += Int(nanos / 1_000_000_000)
                deadline.tv_nsec = Int(nanos % 1_000_000_000)
                writerWaiting = true
                pthread_cond_timedwait(condition, mutex, &deadline)
                writerWaiting = false
            }
            swap(&batch, &queue)
            queuedBytes = 0
            publishWriterTotals()
            dropping = false
            let dropped = self.dropped
            self.dropped = RecordLossTally()
            let finish = closing && batch.isEmpty
            pthread_mutex_unlock(mutex)

            // The batch was queued before the drops happened: the gap comes after it.
            for entry in batch {
                switch entry {
                case .record(let record): write(record)
                case .frame(let frame): write(frame)
                }
            }
            noteLost(dropped)
            batch.removeAll(keepingCapacity: true)
            do {
                try writer.sealIfDue()
            } catch {
                failed(error)
            }
            if let failure = writer.takeRotationFailure() { onEvent(.rotationFailed(failure)) }
            if let end = failedAtEnd, writer.bytesWritten > end {
                failedAtEnd = nil
                onEvent(.writingAgain)
            }
            if finish { break }
        }
        pthread_mutex_lock(mutex)
        let late = self.late
        sealed = true
        pthread_mutex_unlock(mutex)
        noteLost(late)
        do {
            try writer.close()
        } catch {
            failed(error)
        }
        pthread_mutex_lock(mutex)
        let (records, bytes) = (sealedRecords, sealedBytes)
        publishWriterTotals()
        pthread_mutex_unlock(mutex)
        if records > 0 { onEvent(.dropped(records: records, bytes: bytes)) }
    }

    /// Copies the writer's totals into ``statistics`` (writer thread, under `mutex`).
    private func publishWriterTotals() {
        published.bytesWritten = writer.bytesWritten
        published.gapsWritten = writer.gapsWritten
        let withoutFile = UInt64(writer.recordsWithoutFile)
        published.recordsDropped += withoutFile &- published.recordsWithoutFile
        published.recordsWithoutFile = withoutFile
    }

    /// `pthread_setname_np` (a GNU extension Swift's Glibc module does not export), looked up once,
    /// so that `top -H` and profilers show the writer as "recorder".
    private static let setThreadName = SystemFile.cFunction(
        "pthread_setname_np", as: (@convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32).self)

    private static func nameCurrentThread(_ name: String) {
        _ = setThreadName?(pthread_self(), name)
    }

    /// Reports records that never reached the writer, in the log and as a gap block (the writer
    /// is told after every batch, also when nothing was lost; see ``RecordFileWriter/noteLost(_:)``).
    private func noteLost(_ tally: RecordLossTally) {
        if !tally.isEmpty {
            onEvent(.dropped(records: Int(clamping: tally.records), bytes: Int(clamping: tally.payloadBytes)))
        }
        do {
            try writer.noteLost(tally)
        } catch {
            failed(error)
        }
    }

    /// The file's end when a write last failed, while no block has reached the file since
    /// (writer thread only).
    private var failedAtEnd: UInt64?

    private func failed(_ error: RecordFormatError) {
        if failedAtEnd == nil { failedAtEnd = writer.bytesWritten }
        onEvent(.writeFailed(error))
    }

    private func write(_ record: Record) {
        do {
            try writer.append(record)
        } catch {
            failed(error)
        }
    }

    private func write(_ frame: FrameRecord) {
        do {
            try writer.append(frame)
        } catch {
            failed(error)
        }
    }
}
