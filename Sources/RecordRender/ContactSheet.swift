import RFBDecoding

/// A grid of thumbnails of a session's screen, each labelled with its time (`m:ss.t`) underneath,
/// left to right then top to bottom. Every cell has the proportions of the first screen added; a
/// screen of other proportions is fitted into its cell on black.
public struct ContactSheet {
    public let columns: Int
    public let thumbnailWidth: Int
    /// Space around and between the cells, and the height of a label strip.
    public static let gap = 8
    public static let labelScale = 2
    public static var labelHeight: Int { DigitFont.glyphHeight * labelScale + 6 }
    static let background: UInt32 = 0x20_2020
    static let labelColour: UInt32 = 0xF0_F0F0

    private var cells: [(micros: UInt64, thumbnail: RFBFramebuffer)] = []
    public private(set) var thumbnailHeight: Int?

    public init(columns: Int, thumbnailWidth: Int) {
        precondition(columns > 0 && thumbnailWidth > 0, "a contact sheet needs columns and a width")
        self.columns = columns
        self.thumbnailWidth = thumbnailWidth
    }

    public var count: Int { cells.count }

    /// The tallest thumbnail, in widths: a screen taller than that (a 1×65535 one) is fitted into
    /// a cell of this proportion instead of making a cell of its own.
    public static let maximumAspect = 2

    /// Adds the screen at `micros` as the next cell.
    public mutating func add(_ screen: RFBFramebuffer, at micros: UInt64) {
        let proportional = (screen.height * thumbnailWidth + screen.width / 2) / max(screen.width, 1)
        let height = thumbnailHeight ?? min(max(1, proportional), Self.maximumAspect * thumbnailWidth)
        thumbnailHeight = height
        cells.append((micros, FrameScaler.fitted(screen, width: thumbnailWidth, height: height)))
    }

    /// The sheet's size: `columns` cells wide (fewer when there are fewer cells), as many rows as needed.
    public var size: (width: Int, height: Int) {
        let used = min(columns, max(cells.count, 1))
        let rows = max(1, (cells.count + columns - 1) / columns)
        let gap = Self.gap
        return (used * (thumbnailWidth + gap) + gap, rows * ((thumbnailHeight ?? 0) + Self.labelHeight + gap) + gap)
    }

    /// The sheet.
    public func image() -> RFBFramebuffer {
        let (width, height) = size
        var sheet = RFBFramebuffer(width: width, height: height)
        sheet.put(x: 0, y: 0, width: width, height: height, Array(repeating: Self.background, count: width * height))
        let cellHeight = (thumbnailHeight ?? 0) + Self.labelHeight + Self.gap
        for (i, cell) in cells.enumerated() {
            let x = Self.gap + (i % columns) * (thumbnailWidth + Self.gap)
            let y = Self.gap + (i / columns) * cellHeight
            sheet.put(x: x, y: y, width: cell.thumbnail.width, height: cell.thumbnail.height, cell.thumbnail.pixels)
            let label = RenderTimeText.label(cell.micros)
            let labelWidth = DigitFont.width(of: label, scale: Self.labelScale)
            DigitFont.draw(
                label, at: x + (thumbnailWidth - labelWidth) / 2, y + cell.thumbnail.height + 4, scale: Self.labelScale,
                colour: Self.labelColour, on: &sheet)
        }
        return sheet
    }
}
