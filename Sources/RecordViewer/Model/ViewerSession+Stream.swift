import RFB

extension ViewerSession {
    /// How much one response carries at most: this many payload bytes, or this much session time
    /// past the wanted moment (the page asks for more as it plays).
    static let streamByteBudget = 8 << 20
    static let streamTimeBudgetMicros: UInt64 = 20_000_000

    /// Whether noVNC can be given the recorded bytes from the start: every update was sent in
    /// noVNC's pixel format and every encoding the server used is one `supported` lists (what the
    /// page's noVNC decodes and handles).
    func playsOriginal(supported: Set<Int32>) -> Bool {
        guard serverInit != nil else { return false }
        return updateFormats.allSatisfy { $0 == ViewerStreamWriter.noVNCPixelFormat }
            && encodingsUsed.isSubset(of: supported)
    }

    /// The stream to start playing at `atMicros` (session time). From the start (at or before the
    /// first FramebufferUpdate's chunk) and when ``playsOriginal(supported:)``: the original bytes;
    /// otherwise from the last keyframe at or before the time. Nil when there is no screen yet.
    func stream(at atMicros: UInt64, supported: Set<Int32>) -> ViewerStream? {
        guard let serverInit else { return nil }
        let firstUpdate = serverChunks.first { $0.repaint != nil }?.timeMicros
        if playsOriginal(supported: supported), atMicros <= (firstUpdate ?? serverInit.timeMicros) {
            var stream = ViewerStream(mode: .original)
            for step in ViewerStreamWriter.handshake(width: serverInit.width, height: serverInit.height, name: serverInit.name) {
                stream.pieces.append(.init(timeMicros: serverInit.timeMicros, bytes: step))
            }
            let start = serverChunks.firstIndex { $0.offset + $0.length > serverInit.endOffset } ?? serverChunks.count
            continueOriginal(&stream, from: start, until: atMicros.plusSaturating(Self.streamTimeBudgetMicros))
            return stream
        }
        guard let keyframe = keyframes.last(where: { $0.timeMicros <= atMicros }) ?? keyframes.first else { return nil }
        var stream = ViewerStream(mode: .keyframe)
        let rectangle = ViewerStreamWriter.RawRectangle(
            x: 0, y: 0, width: keyframe.width, height: keyframe.height, pixels: keyframe.pixels.bytes)
        for step in ViewerStreamWriter.handshake(width: keyframe.width, height: keyframe.height, name: serverInit.name) {
            stream.pieces.append(.init(timeMicros: keyframe.timeMicros, bytes: step))
        }
        stream.pieces.append(.init(timeMicros: keyframe.timeMicros, bytes: ViewerStreamWriter.update(resize: nil, [rectangle])))
        continueKeyframe(&stream, from: keyframe.chunkIndex + 1, until: max(atMicros, keyframe.timeMicros).plusSaturating(Self.streamTimeBudgetMicros))
        return stream
    }

    /// The stream from chunk `index` on, in `mode` (the page's next request).
    func stream(from index: Int, mode: ViewerStream.Mode) -> ViewerStream {
        var stream = ViewerStream(mode: mode)
        let from = min(max(index, 0), serverChunks.count)
        let until = (from < serverChunks.count ? serverChunks[from].timeMicros : lastTimeMicros)
            .plusSaturating(Self.streamTimeBudgetMicros)
        switch mode {
        case .original: continueOriginal(&stream, from: from, until: until)
        case .keyframe: continueKeyframe(&stream, from: from, until: until)
        }
        return stream
    }

    private func continueOriginal(_ stream: inout ViewerStream, from start: Int, until: UInt64) {
        let skip = serverInit?.endOffset ?? 0
        var index = start
        while index < serverChunks.count, !full(stream, until: until, at: index) {
            let chunk = serverChunks[index]
            let lower = max(chunk.offset, skip)
            if lower < chunk.offset + chunk.length {
                stream.pieces.append(.init(timeMicros: chunk.timeMicros, bytes: Array(serverStream[lower..<chunk.offset + chunk.length])))
            }
            index += 1
        }
        stream.next = index == serverChunks.count && !growing ? nil : index
    }

    private func continueKeyframe(_ stream: inout ViewerStream, from start: Int, until: UInt64) {
        var index = start
        while index < serverChunks.count, !full(stream, until: until, at: index) {
            let chunk = serverChunks[index]
            if let repaint = chunk.repaint {
                let all = repaint.pixels.bytes
                var at = 0
                let rectangles = repaint.rectangles.map { area in
                    defer { at += area.width * area.height * 4 }
                    return ViewerStreamWriter.RawRectangle(
                        x: area.x, y: area.y, width: area.width, height: area.height,
                        pixels: Array(all[at..<at + area.width * area.height * 4]))
                }
                stream.pieces.append(.init(timeMicros: chunk.timeMicros, bytes: ViewerStreamWriter.update(resize: repaint.resize, rectangles)))
            }
            index += 1
        }
        stream.next = index == serverChunks.count && !growing ? nil : index
    }

    /// Whether a response already holds enough: past its byte budget or its time window (the
    /// handshake and the first piece after it always go in, so that every response moves on).
    private func full(_ stream: ViewerStream, until: UInt64, at index: Int) -> Bool {
        guard stream.pieces.count > 5 else { return false }
        return stream.byteCount >= Self.streamByteBudget || serverChunks[index].timeMicros > until
    }
}
