import RFB
import RFBDecoding
import RecordFormat

extension ViewerSession {
    /// The session's line in `/api/recording`: metadata, size, totals, what the screen is.
    func summaryJSON() -> RFBJSONObject {
        var object = RFBJSONObject()
        object.add("session", number)
        if let open {
            // A legacy recording has no start time (0).
            if open.startWallMicros != 0 {
                object.add("start", ISODate.string(wallMicros: open.startWallMicros))
                object.add("start_wall_us", open.startWallMicros)
            }
            object.add("client", open.clientAddress)
            object.add("listen", open.listenAddress)
            object.add("target", open.target.displayString)
            object.add("path", open.requestPath)
            if let subprotocol = open.subprotocol { object.add("subprotocol", subprotocol) }
            object.add("tls", open.tls)
            if let via = open.viaAddress { object.add("via", via) }
        }
        object.add("first_us", firstTimeMicros ?? 0)
        object.add("last_us", lastTimeMicros)
        var totals = [DirectionTotals(), DirectionTotals()]
        for frame in frames {
            totals[Int(frame.direction.rawValue)].frames += 1
            totals[Int(frame.direction.rawValue)].bytes += UInt64(frame.payloadLength)
        }
        object.add("client_bytes", totals[0].bytes)
        object.add("client_frames", totals[0].frames)
        object.add("target_bytes", totals[1].bytes)
        object.add("target_frames", totals[1].frames)
        if let close {
            var closed = RFBJSONObject()
            closed.add("by", close.closedBy.name)
            if let code = close.code { closed.add("code", code) }
            closed.add("reason", close.reason)
            object.add("closed", closed)
        }
        if let serverInit {
            var screen = RFBJSONObject()
            screen.add("name", serverInit.name)
            screen.add("width", serverInit.width)
            screen.add("height", serverInit.height)
            screen.add("encodings", numbers: encodingsUsed.sorted())
            screen.add("keyframes", keyframes.count)
            // Memory the seeking data takes: keyframes and repaints, deflated.
            screen.add("seek_bytes", keyframes.reduce(0) { $0 + $1.pixels.storedCount }
                + serverChunks.reduce(0) { $0 + ($1.repaint?.pixels.storedCount ?? 0) })
            object.add("rfb", screen)
        }
        object.add("messages", messages.count)
        object.add("growing", growing)
        return object
    }

    /// `/api/sessions/N/timeline`: bandwidth of each direction in `buckets` equal slices of the
    /// session, markers, gaps, key and pointer activity, keyframes, decoding problems.
    func timelineJSON(buckets requested: Int) -> RFBJSONObject {
        let first = firstTimeMicros ?? 0
        let span = max(lastTimeMicros - first, 1)
        let buckets = min(max(requested, 1), 4000)
        // (rounded up without adding: a span near 2^64 must not overflow)
        let width = span / UInt64(buckets) + (span % UInt64(buckets) == 0 ? 0 : 1)
        var bandwidth = [[UInt64](repeating: 0, count: buckets), [UInt64](repeating: 0, count: buckets)]
        for frame in frames {
            let slot = min(Int((frame.timeMicros - min(frame.timeMicros, first)) / max(width, 1)), buckets - 1)
            bandwidth[Int(frame.direction.rawValue)][slot] += UInt64(frame.payloadLength)
        }
        var object = RFBJSONObject()
        object.add("session", number)
        object.add("first_us", first)
        object.add("last_us", lastTimeMicros)
        object.add("bucket_us", width)
        object.add("client_bytes", numbers: bandwidth[0])
        object.add("target_bytes", numbers: bandwidth[1])
        object.add("markers", objects: markers.map { marker in
            var m = RFBJSONObject()
            m.add("t", marker.timeMicros)
            m.add("text", marker.text)
            return m
        })
        object.add("gaps", objects: losses.map { loss in
            var g = RFBJSONObject()
            g.add("from", loss.firstTimeMicros)
            g.add("to", loss.lastTimeMicros)
            g.add("records", loss.records)
            g.add("client_bytes", loss.clientToTarget.bytes)
            g.add("target_bytes", loss.targetToClient.bytes)
            return g
        })
        object.add("keys", objects: keys.map { key in
            var k = RFBJSONObject()
            k.add("t", key.timeMicros)
            k.add("down", key.down)
            k.add("key", key.keysym.description)
            return k
        })
        object.add("pointer", objects: Self.thinned(pointer, width: width).map { event in
            var p = RFBJSONObject()
            p.add("t", event.timeMicros)
            p.add("x", event.x)
            p.add("y", event.y)
            p.add("buttons", event.buttons)
            return p
        })
        object.add("keyframes", numbers: keyframes.map(\.timeMicros))
        if let drawn = serverChunks.first(where: { $0.repaint != nil }) { object.add("first_update_us", drawn.timeMicros) }
        object.add("problems", objects: decodeProblems.map { problem in
            var p = RFBJSONObject()
            if let time = problem.time { p.add("t", UInt64(microsecondsSaturating: time)) }
            p.add("text", problem.description)
            return p
        })
        if let stopped = screenStoppedMicros { object.add("screen_stopped_us", stopped) }
        return object
    }

    /// Pointer events for the activity lane: every button change, and at most one move per bucket.
    static func thinned(_ events: [PointerActivity], width: UInt64) -> [PointerActivity] {
        var kept: [PointerActivity] = []
        for event in events {
            if let last = kept.last, last.buttons == event.buttons, event.timeMicros / max(width, 1) == last.timeMicros / max(width, 1) {
                continue
            }
            kept.append(event)
        }
        return kept
    }

    /// `/api/sessions/N/messages?from=I&limit=L`, or `?at=T` for the window around a time: each
    /// decoded message with its index, time, sender, stream offset, length, name and description.
    func messagesJSON(from start: Int?, at time: UInt64?, limit requested: Int) -> RFBJSONObject {
        let limit = min(max(requested, 1), 5000)
        var from = max(start ?? 0, 0)
        if start == nil, let time {
            let at = messages.firstIndex { $0.timeMicros > time } ?? messages.count
            from = max(min(at - limit / 2, messages.count - limit), 0)
        }
        from = min(from, messages.count)
        let end = min(from + limit, messages.count)
        var object = RFBJSONObject()
        object.add("session", number)
        object.add("total", messages.count)
        object.add("from", from)
        object.add("messages", objects: (from..<end).map { i in
            let message = messages[i]
            var m = RFBJSONObject()
            m.add("i", i)
            m.add("t", message.timeMicros)
            m.add("from", message.event.direction == .clientToServer ? "client" : "target")
            m.add("offset", message.event.offset)
            m.add("length", message.length)
            switch message.event {
            case .message(let parsed): m.add("type", parsed.message.name)
            case .problem: m.add("type", "problem")
            }
            m.add("text", message.event.description)
            return m
        })
        return object
    }

    /// Up to `limit` bytes of one direction's stream from `offset`, as hex (`/api/sessions/N/bytes`).
    func bytesJSON(from: Direction, offset: Int, length: Int) -> RFBJSONObject {
        let stream = from == .clientToTarget ? clientStream : serverStream
        let start = min(max(offset, 0), stream.count)
        let end = min(start + min(max(length, 0), Self.hexLimit), stream.count)
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity((end - start) * 2)
        for byte in stream[start..<end] {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0xF)])
        }
        var object = RFBJSONObject()
        object.add("from", from.senderName)
        object.add("offset", start)
        object.add("length", end - start)
        object.add("stream_length", stream.count)
        object.add("hex", String(decoding: hex, as: UTF8.self))
        return object
    }

    /// Most bytes one hex request returns.
    static let hexLimit = 64 * 1024
}
