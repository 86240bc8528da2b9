import RecordFormat

/// Draws a recording's bandwidth over wall-clock time as a standalone SVG image
/// (`wsrecord-inspect stats --plot`): one step line per direction, session starts and ends,
/// session-0 markers, axes and a legend.
public struct BandwidthPlot: Sendable {
    public var width = 1000
    public var height = 600
    /// The plot aims for at least this many bins on short recordings (bins get shorter than 1 s).
    public var minimumBins = 50
    /// At most this many bins on long recordings (bins get longer than 1 s).
    public var maximumBins = 1000
    /// Beyond this many sessions, start and end lines are drawn without number labels.
    public var maximumSessionLabels = 60

    public init() {}

    static let clientColor = "#1f6fb4"
    static let targetColor = "#e8730c"
    static let startColor = "#2a9d3f"
    static let endColor = "#c0392b"
    static let markerColor = "#7b4fb0"

    /// Bin length chosen for a time span: 1 s when it fits, shorter for short spans, longer for long ones.
    func binMicros(span: Int64) -> Int64 {
        let steps: [Int64] = [
            1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000,
            5_000_000, 10_000_000, 15_000_000, 30_000_000, 60_000_000, 120_000_000, 300_000_000, 600_000_000,
            900_000_000, 1_800_000_000, 3_600_000_000, 7_200_000_000, 21_600_000_000, 43_200_000_000, 86_400_000_000,
        ]
        if span / 1_000_000 >= Int64(minimumBins) {
            if let step = steps.first(where: { $0 >= 1_000_000 && span / $0 < Int64(maximumBins) }) { return step }
            // Longer than the longest step allows: whole days, still fewer than `maximumBins` bins.
            let day = steps.last!
            return day * (span / day / Int64(maximumBins) + 1)
        }
        return steps.last { $0 <= 1_000_000 && span / $0 >= Int64(minimumBins) } ?? steps[0]
    }

    /// Bytes per bin, from `start`, for `count` bins of `bin` µs.
    static func bins(_ samples: [TrafficSample], start: Int64, bin: Int64, count: Int) -> [UInt64] {
        var bins = [UInt64](repeating: 0, count: count)
        for sample in samples {
            let index = Int((sample.wallMicros - start) / bin)
            if index >= 0 && index < count { bins[index] += UInt64(sample.bytes) }
        }
        return bins
    }

    /// The SVG document for `stats`, titled with `title`.
    public func svg(_ stats: RecordStats, title: String) -> String {
        // Time range: every frame, session start and end; markers too unless some session's start
        // is unknown (then its times count from 1970 and markers would stretch the axis).
        var low = Int64.max
        var high = Int64.min
        func include(_ t: Int64) {
            low = min(low, t)
            high = max(high, t)
        }
        for direction in Direction.allCases {
            if let first = stats.traffic(direction).first { include(first.wallMicros) }
            if let last = stats.traffic(direction).last { include(last.wallMicros) }
        }
        for session in stats.sessions {
            include(session.wallMicros(session.firstTimeMicros))
            include(session.wallMicros(session.lastTimeMicros))
        }
        let startsKnown = stats.sessions.allSatisfy { $0.startWallMicros != 0 }
        if startsKnown {
            // A marker whose time is out of range has no place on the axis (it is left out below too).
            for marker in stats.markers where RecordTime.isPlaceable(marker.wallMicros) { include(marker.wallMicros) }
        }
        if low > high { (low, high) = (0, 1_000_000) }
        let bin = binMicros(span: high - low)
        let start = bin >= 1_000_000 ? low - ((low % bin) + bin) % bin : low
        let count = max(1, Int((high - start) / bin) + 1)
        let end = start + Int64(count) * bin

        let c2t = Self.bins(stats.clientToTargetTraffic, start: start, bin: bin, count: count)
        let t2c = Self.bins(stats.targetToClientTraffic, start: start, bin: bin, count: count)
        let perSecond = 1_000_000 / Double(bin)
        let peakRate = Double(max(c2t.max() ?? 0, t2c.max() ?? 0)) * perSecond
        let yAxis = ValueAxis(maximum: peakRate)

        let left = 84.0
        let right = Double(width) - 24
        let top = 118.0
        let bottom = Double(height) - 86
        let frame = PlotFrame(
            left: left, right: right, top: top, bottom: bottom, start: start, end: end, valueTop: yAxis.top)

        var svg = SVGWriter(width: width, height: height)
        svg.raw("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>")
        svg.text(title, x: left, y: 30, attributes: "font-size=\"17\" font-weight=\"bold\" fill=\"#222\"")
        let binText = bin >= 1_000_000 ? "\(bin / 1_000_000) s" : "\(bin / 1_000) ms"
        var subtitle = "\(stats.sessions.count) session\(stats.sessions.count == 1 ? "" : "s"), "
        subtitle += "payload bytes per second in \(binText) bins"
        if startsKnown && low > 86_400_000_000 {
            subtitle += ", from " + Self.dateTime(low, withMillis: false) + " UTC"
        }
        if stats.sessions.count > maximumSessionLabels { subtitle += "; hover over a session line for its number" }
        svg.text(subtitle, x: left, y: 50, attributes: "font-size=\"12\" fill=\"#555\"")
        legend(&svg, x: right - 330, y: 22)

        // Grid and y axis.
        svg.raw("<g font-size=\"11\" fill=\"#444\">")
        for tick in yAxis.ticks {
            let y = frame.y(tick)
            svg.raw("<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(right))\" y2=\"\(n(y))\" stroke=\"#e4e4e4\"/>")
            svg.text(yAxis.label(tick), x: left - 8, y: y + 4, attributes: "text-anchor=\"end\"")
        }
        svg.raw("</g>")
        svg.text(
            "bandwidth (\(yAxis.unit))", x: 18, y: (top + bottom) / 2,
            attributes:
                "font-size=\"12\" fill=\"#333\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(n((top + bottom) / 2)))\""
        )

        // X axis.
        let timeAxis = TimeAxis(start: start, end: end, wallClock: startsKnown && low > 86_400_000_000)
        svg.raw("<g font-size=\"11\" fill=\"#444\">")
        for tick in timeAxis.ticks {
            let x = frame.x(tick)
            svg.raw("<line x1=\"\(n(x))\" y1=\"\(n(bottom))\" x2=\"\(n(x))\" y2=\"\(n(bottom + 5))\" stroke=\"#666\"/>")
            svg.raw("<line x1=\"\(n(x))\" y1=\"\(n(top))\" x2=\"\(n(x))\" y2=\"\(n(bottom))\" stroke=\"#f0f0f0\"/>")
            svg.text(timeAxis.label(tick), x: x, y: bottom + 19, attributes: "text-anchor=\"middle\"")
        }
        svg.raw("</g>")
        svg.text(
            timeAxis.title, x: (left + right) / 2, y: bottom + 42,
            attributes: "font-size=\"12\" fill=\"#333\" text-anchor=\"middle\"")

        // Traffic: areas and step lines, the usually larger target→client first.
        // The lower line is thinner, so that where both directions carry the same the wider one shows around it.
        for (direction, bins, color, lineWidth) in [
            (Direction.targetToClient, t2c, Self.targetColor, "3.2"),
            (Direction.clientToTarget, c2t, Self.clientColor, "1.5"),
        ] {
            let name = direction == .clientToTarget ? "client → target" : "target → client"
            var line = ""
            for (index, bytes) in bins.enumerated() {
                let y = frame.y(Double(bytes) * perSecond)
                let x0 = frame.x(start + Int64(index) * bin)
                let x1 = frame.x(start + Int64(index + 1) * bin)
                line += index == 0 ? "M\(n(x0)) \(n(y))H\(n(x1))" : "V\(n(y))H\(n(x1))"
            }
            let area = "M\(n(left)) \(n(bottom))" + "L" + line.dropFirst() + "V\(n(bottom))Z"
            svg.raw(
                "<path class=\"area \(direction.senderName)\" d=\"\(area)\" fill=\"\(color)\" fill-opacity=\"0.18\" stroke=\"none\"/>"
            )
            svg.raw(
                "<path class=\"traffic \(direction.senderName)\" id=\"traffic-\(direction.senderName)\" d=\"\(line)\" "
                    + "fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(lineWidth)\" stroke-linejoin=\"round\">"
                    + "<title>\(SVGWriter.escape(name)): peak \(stats.peak(direction).bytes) bytes in 1 s</title></path>"
            )
        }

        // Session starts and ends, labelled with the session number above the plot.
        var labels = LabelRows(rowCount: 3)
        // With many sessions the labels would pile up: then only the lines (and their tooltips).
        let labelSessions = stats.sessions.count <= maximumSessionLabels
        for session in stats.sessions {
            let events: [(Int64, Bool)] =
                [(session.wallMicros(session.firstTimeMicros), true)]
                + (session.close != nil ? [(session.wallMicros(session.lastTimeMicros), false)] : [])
            for (wall, isStart) in events {
                let x = frame.x(wall)
                let color = isStart ? Self.startColor : Self.endColor
                let label = isStart ? "▶\(session.session)" : "\(session.session)◀"
                var tip = "session \(session.session) " + (isStart ? "start" : "end")
                if startsKnown { tip += " " + Self.dateTime(wall, withMillis: true) + " UTC" }
                if isStart, let open = session.open {
                    tip += "; client \(open.clientAddress), target \(open.target.displayString)"
                }
                let labelWidth = Double(label.count) * 7 + 4
                let row = labels.place(from: isStart ? x : x - labelWidth, to: isStart ? x + labelWidth : x)
                let labelY = top - 8 - Double(row) * 14
                svg.raw(
                    "<g class=\"session-\(isStart ? "start" : "end")\"><title>\(SVGWriter.escape(tip))</title>"
                        + "<line x1=\"\(n(x))\" y1=\"\(n(labelY - 9))\" x2=\"\(n(x))\" y2=\"\(n(bottom))\" stroke=\"\(color)\" "
                        + "stroke-width=\"1\" stroke-dasharray=\"\(isStart ? "5 3" : "2 3")\"/>")
                if labelSessions {
                    svg.text(
                        label, x: isStart ? x + 2 : x - 2, y: labelY,
                        attributes:
                            "font-size=\"11\" font-weight=\"bold\" fill=\"\(color)\" text-anchor=\"\(isStart ? "start" : "end")\""
                    )
                }
                svg.raw("</g>")
            }
        }

        // Markers: ticks on the time axis with their text inside the plot.
        var markerRows = LabelRows(rowCount: 4)
        for marker in stats.markers where startsKnown && marker.wallMicros >= start && marker.wallMicros <= end {
            let x = frame.x(marker.wallMicros)
            var text = marker.text
            if text.count > 40 { text = String(text.prefix(39)) + "…" }
            let textWidth = Double(text.count) * 6.2
            let flip = x + 5 + textWidth > Double(width) - 4  // no room on the right: write it leftwards
            let row =
                flip
                ? markerRows.place(from: x - textWidth - 8, to: x + 6)
                : markerRows.place(from: x - 6, to: x + textWidth + 8)
            let y = top + 14 + Double(row) * 14
            let tip = Self.dateTime(marker.wallMicros, withMillis: true) + " UTC: " + marker.text
            svg.raw("<g class=\"marker\"><title>\(SVGWriter.escape(tip))</title>")
            svg.raw(
                "<line x1=\"\(n(x))\" y1=\"\(n(y - 4))\" x2=\"\(n(x))\" y2=\"\(n(bottom))\" stroke=\"\(Self.markerColor)\" "
                    + "stroke-width=\"1\" stroke-opacity=\"0.45\" stroke-dasharray=\"1 2\"/>")
            svg.raw(
                "<path d=\"M\(n(x)) \(n(bottom))l-4 7h8z\" fill=\"\(Self.markerColor)\"/>")
            svg.raw("<circle cx=\"\(n(x))\" cy=\"\(n(y - 4))\" r=\"2.5\" fill=\"\(Self.markerColor)\"/>")
            svg.text(
                text, x: flip ? x - 5 : x + 5, y: y,
                attributes: "font-size=\"11\" fill=\"\(Self.markerColor)\" stroke=\"#fff\" stroke-width=\"3\" "
                    + "paint-order=\"stroke\" text-anchor=\"\(flip ? "end" : "start")\"")
            svg.raw("</g>")
        }

        // Axis lines last, above the areas.
        svg.raw(
            "<path d=\"M\(n(left)) \(n(top))V\(n(bottom))H\(n(right))\" fill=\"none\" stroke=\"#444\" stroke-width=\"1\"/>"
        )
        if stats.frames == 0 {
            svg.text(
                "no frames recorded", x: (left + right) / 2, y: (top + bottom) / 2,
                attributes: "font-size=\"14\" fill=\"#888\" text-anchor=\"middle\"")
        }
        return svg.finish()
    }

    private func legend(_ svg: inout SVGWriter, x: Double, y: Double) {
        svg.raw("<g class=\"legend\" font-size=\"12\" fill=\"#333\">")
        let entries: [(String, String)] = [
            ("client → target", Self.clientColor), ("target → client", Self.targetColor),
        ]
        for (index, (name, color)) in entries.enumerated() {
            let ey = y + Double(index) * 18
            svg.raw(
                "<rect x=\"\(n(x))\" y=\"\(n(ey - 5))\" width=\"22\" height=\"10\" fill=\"\(color)\" fill-opacity=\"0.18\" "
                    + "stroke=\"\(color)\" stroke-width=\"1.6\"/>")
            svg.text(name, x: x + 28, y: ey + 4)
        }
        let sx = x + 150
        let marks: [(String, String, String)] = [
            ("session start ▶N", Self.startColor, "5 3"), ("session end N◀", Self.endColor, "2 3"),
            ("marker", Self.markerColor, "1 2"),
        ]
        for (index, (name, color, dash)) in marks.enumerated() {
            let ey = y + Double(index) * 18
            svg.raw(
                "<line x1=\"\(n(sx + 10))\" y1=\"\(n(ey - 7))\" x2=\"\(n(sx + 10))\" y2=\"\(n(ey + 7))\" stroke=\"\(color)\" "
                    + "stroke-width=\"1.5\" stroke-dasharray=\"\(dash)\"/>")
            svg.text(name, x: sx + 20, y: ey + 4)
        }
        svg.raw("</g>")
    }

    /// `YYYY-MM-DD HH:MM:SS[.mmm]`.
    static func dateTime(_ wall: Int64, withMillis: Bool) -> String {
        let iso = TextEncoding.isoDate(wallMicros: wall)  // YYYY-MM-DDTHH:MM:SS.ffffffZ
        let date = iso.prefix(10) + " " + iso.dropFirst(11).prefix(8)
        return withMillis ? String(date) + "." + iso.dropFirst(20).prefix(3) : String(date)
    }
}

/// Maps time and value onto the plot area.
private struct PlotFrame {
    var left, right, top, bottom: Double
    var start, end: Int64
    /// The value at the top of the plot area.
    var valueTop: Double

    func x(_ wall: Int64) -> Double { left + Double(wall - start) / Double(end - start) * (right - left) }
    func y(_ value: Double) -> Double { bottom - value / valueTop * (bottom - top) }
}

/// A linear value axis with 1-2-5 steps and a unit (B/s, kB/s, MB/s, GB/s).
private struct ValueAxis {
    var top: Double
    var step: Double
    var unit: String
    var scale: Double

    init(maximum: Double) {
        let target = max(maximum, 1) / 5
        var magnitude = 1.0
        while magnitude * 10 <= target { magnitude *= 10 }
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= target } ?? magnitude * 10
        self.step = step
        top = (max(maximum, 1) / step).rounded(.up) * step
        (unit, scale) =
            top >= 1e9 ? ("GB/s", 1e9) : top >= 1e6 ? ("MB/s", 1e6) : top >= 1e3 ? ("kB/s", 1e3) : ("B/s", 1)
    }

    var ticks: [Double] { (0...Int((top / step).rounded())).map { Double($0) * step } }

    func label(_ value: Double) -> String {
        let scaled = value / scale
        // Steps are 1-2-5 multiples, so at most three decimals are ever needed.
        var places = 0
        while places < 3 && (scaled * pow10(places)).rounded() != scaled * pow10(places) { places += 1 }
        return fixed(scaled, places: places)
    }

    private func pow10(_ places: Int) -> Double { [1.0, 10, 100, 1000][places] }
}

/// A time axis with round steps, labelled with wall-clock time or, when the start is unknown,
/// time since the start.
private struct TimeAxis {
    var start: Int64
    var end: Int64
    var wallClock: Bool
    var step: Int64

    init(start: Int64, end: Int64, wallClock: Bool) {
        self.start = start
        self.end = end
        self.wallClock = wallClock
        let steps: [Int64] = [
            1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000,
            5_000_000, 10_000_000, 15_000_000, 30_000_000, 60_000_000, 120_000_000, 300_000_000, 600_000_000,
            900_000_000, 1_800_000_000, 3_600_000_000, 7_200_000_000, 10_800_000_000, 21_600_000_000, 43_200_000_000,
            86_400_000_000,
        ]
        let span = end - start
        step = steps.first { span / $0 <= 8 } ?? 86_400_000_000 * max(1, span / 86_400_000_000 / 8)
    }

    var ticks: [Int64] {
        let origin = wallClock ? 0 : start
        var t = start + (step - ((start - origin) % step + step) % step) % step
        var out: [Int64] = []
        while t <= end {
            out.append(t)
            t += step
        }
        return out
    }

    var title: String {
        wallClock ? "wall-clock time (UTC)" : "time since the session start (s; the wall-clock start was not recorded)"
    }

    func label(_ tick: Int64) -> String {
        if wallClock {
            let iso = TextEncoding.isoDate(wallMicros: tick)
            var text = String(iso.dropFirst(11).prefix(8))
            if step >= 86_400_000_000 || (step >= 3_600_000_000 && end - start > 86_400_000_000) {
                text = String(iso.dropFirst(5).prefix(5)) + " " + text.prefix(5)
            }
            if step < 1_000_000 { text += "." + iso.dropFirst(20).prefix(step < 10_000 ? 3 : step < 100_000 ? 2 : 1) }
            return text
        }
        let elapsed = tick - start
        let places = step < 10_000 ? 3 : step < 100_000 ? 2 : step < 1_000_000 ? 1 : 0
        if elapsed >= 60_000_000 && step >= 1_000_000 {
            let seconds = elapsed / 1_000_000
            let s = seconds % 60
            return "\(seconds / 60):" + (s < 10 ? "0" : "") + "\(s)"
        }
        return fixed(Double(elapsed) / 1e6, places: places)
    }
}

/// Greedy placement of labels into rows so that they do not overlap.
private struct LabelRows {
    private var ends: [Double]
    init(rowCount: Int) { ends = [Double](repeating: -.infinity, count: rowCount) }

    /// The first row where `[from, to]` fits; the row that frees up first when none does.
    mutating func place(from: Double, to: Double) -> Int {
        let row = ends.firstIndex { $0 < from } ?? ends.indices.min { ends[$0] < ends[$1] }!
        ends[row] = to + 4
        return row
    }
}

/// A few SVG elements, written as text.
private struct SVGWriter {
    private var out: String

    init(width: Int, height: Int) {
        out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
        out += "viewBox=\"0 0 \(width) \(height)\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
    }

    mutating func raw(_ element: String) { out += element + "\n" }

    mutating func text(_ text: String, x: Double, y: Double, attributes: String = "") {
        out += "<text x=\"\(n(x))\" y=\"\(n(y))\"" + (attributes.isEmpty ? "" : " " + attributes) + ">"
        out += Self.escape(text) + "</text>\n"
    }

    mutating func finish() -> String { out + "</svg>\n" }

    /// `text` with XML's special characters escaped, and control characters (not allowed in XML 1.0) dropped.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case _ where scalar.value < 0x20 && scalar != "\t" && scalar != "\n": out += "\u{FFFD}"
            case "\u{FFFE}", "\u{FFFF}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// A coordinate with one decimal.
private func n(_ value: Double) -> String { fixed(value, places: 1) }

/// `value` rounded to `places` decimals, without Foundation.
private func fixed(_ value: Double, places: Int) -> String {
    guard value.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = Int64((abs(value) * scale).rounded())
    let sign = value < 0 && scaled != 0 ? "-" : ""
    guard places > 0 else { return sign + String(scaled) }
    let whole = scaled / Int64(scale)
    let fraction = String(scaled % Int64(scale))
    return sign + "\(whole)." + String(repeating: "0", count: places - fraction.count) + fraction
}
